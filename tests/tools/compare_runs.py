#!/usr/bin/python3
"""Compares two lepsim HDF5 files dataset by dataset, bit for bit.

usage: compare_runs.py A.h5 B.h5 [--ignore-attr NAME ...]

Every group, dataset and attribute of A must be in B and the reverse, with the same
shape, type and bytes (NaNs compare equal when their bits do). Root attributes that
say when and from which revision a file was written (created, git_revision) are
ignored. Exits 0 when identical, 1 with one line per difference otherwise.
"""
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
        if path == "/" and k in ignored:
            continue
        if k not in x.attrs or k not in y.attrs:
            out.append(f"{path}: attribute {k} only in {'B' if k not in x.attrs else 'A'}")
        elif not same(x.attrs[k], y.attrs[k]):
            out.append(f"{path}: attribute {k} differs: {x.attrs[k]!r} vs {y.attrs[k]!r}")


def main(argv):
    args = [a for a in argv[1:]]
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
