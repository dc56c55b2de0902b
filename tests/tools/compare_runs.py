#!/usr/bin/python3
"""Compares two lepsim HDF5 files dataset by dataset, bit for bit.

usage: compare_runs.py A.h5 B.h5 [--ignore-attr NAME ...]
       compare_runs.py --checksum FILE.h5 ...

Every group, dataset and attribute of A must be in B and the reverse, with the same
shape, type and bytes (NaNs compare equal when their bits do). Root attributes that
say when and from which revision a file was written (created, git_revision) are
ignored, and so is each root attribute NAME or attribute /GROUP@NAME given with
--ignore-attr. Exits 0 when identical, 1 with one line per difference otherwise.

--checksum prints one SHA-256 per file ("HEX  FILE") over exactly what the comparison
looks at: every group's and dataset's name, every dataset's type, shape and bytes, every
attribute's name, type, shape and value, but the two root attributes above. Two files
compare identical exactly when their checksums are equal (docs/cluster.md's table).
"""
import hashlib
import sys
import h5py
import numpy as np

IGNORED = {"created", "git_revision"}


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "OSU":
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


def attrs_diff(path, x, y, out, ignored):
    for k in sorted(set(x.attrs) | set(y.attrs)):
        if (path == "/" and k in ignored) or f"{path}@{k}" in ignored:
            continue
        if k not in x.attrs or k not in y.attrs:
            out.append(f"{path}: attribute {k} only in {'B' if k not in x.attrs else 'A'}")
        elif not same(x.attrs[k], y.attrs[k]):
            out.append(f"{path}: attribute {k} differs: {x.attrs[k]!r} vs {y.attrs[k]!r}")


def digest_value(h, v):
    a = np.asarray(v)
    h.update(f"{a.dtype.kind}{a.dtype.itemsize if a.dtype.kind not in 'OSU' else 0}{a.shape}".encode())
    if a.dtype.kind in "OSU":
        h.update(repr([x.decode() if isinstance(x, bytes) else x for x in a.ravel().tolist()]).encode())
    else:
        h.update(a.tobytes())


def digest_attrs(h, path, obj, ignored):
    for k in sorted(obj.attrs):
        if (path == "/" and k in ignored) or f"{path}@{k}" in ignored:
            continue
        h.update(f"attr {path} {k}".encode())
        digest_value(h, obj.attrs[k])


def checksum(path, ignored=IGNORED):
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        names = []
        f.visit(names.append)
        digest_attrs(h, "/", f, ignored)
        for n in sorted(names):
            x = f[n]
            kind = "dataset" if isinstance(x, h5py.Dataset) else "group"
            h.update(f"{kind} /{n}".encode())
            digest_attrs(h, "/" + n, x, ignored)
            if kind == "dataset":
                digest_value(h, x[()])
    return h.hexdigest()


def main(argv):
    args = [a for a in argv[1:]]
    if args and args[0] == "--checksum":
        for path in args[1:]:
            print(f"{checksum(path)}  {path}")
        return 0
    ignored = set(IGNORED)
    while "--ignore-attr" in args:
        i = args.index("--ignore-attr")
        ignored.add(args[i + 1])
        del args[i:i + 2]
    fa, fb = h5py.File(args[0], "r"), h5py.File(args[1], "r")
    out = []
    names_a, names_b = [], []
    fa.visit(names_a.append)
    fb.visit(names_b.append)
    for n in sorted(set(names_a) - set(names_b)):
        out.append(f"/{n}: only in A")
    for n in sorted(set(names_b) - set(names_a)):
        out.append(f"/{n}: only in B")
    attrs_diff("/", fa, fb, out, ignored)
    for n in sorted(set(names_a) & set(names_b)):
        x, y = fa[n], fb[n]
        attrs_diff("/" + n, x, y, out, ignored)
        if isinstance(x, h5py.Dataset) and isinstance(y, h5py.Dataset):
            if not same(x[()], y[()]):
                out.append(f"/{n}: values differ")
    for line in out:
        print(line)
    print(f"{args[0]} vs {args[1]}: " + ("identical" if not out else f"{len(out)} differences"))
    return 0 if not out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
