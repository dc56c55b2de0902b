#!/usr/bin/env bash
# `lepsim report` as a person sees it: headless Chromium renders the page of a small run
# (scenarios/example.toml) and of the national default (every chart, plan line included);
# the screenshot must be the window's size and not blank, and the rendered DOM must hold
# every chart's <svg>. Needs LEPSIM and SOURCE_DIR, Debian's chromium (.ci/install-deps
# installs it: the test fails without it) and /usr/bin/python3 (the PNG is decoded by hand).
source "$SOURCE_DIR/tests/shell_lib.sh"

chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
  echo "FAIL: chromium is not installed (Debian package 'chromium'; .ci/install-deps installs it)"
  exit 1
fi

W=1280 H=6000  # tall enough for the whole bsf page (about 5,100 px)
# Chromium prints dbus and GPU warnings on stderr: they are ignored (kept in the *.log files).
browse() {  # browse HTML PNG DOM
  local url="file://$work/$1"
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
    --window-size=$W,$H --screenshot="$work/$2" "$url" >"$2.log" 2>&1
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
    --dump-dom "$url" >"$3" 2>"$3.log"
}

# Decodes the PNG (zlib and the five PNG filters, no imaging library) and checks that it
# is W x H and not blank: many colours, most pixels not white, some dark ink (text, axes)
# and some saturated colour (the charts).
cat >check_png.py <<'EOF'
import struct, sys, zlib

def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(path + ": not a PNG file")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit("%s: unexpected PNG (depth %d, colour type %d, interlace %d)" % (path, depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:  # Average
            for i in range(bpp):
                line[i] = (line[i] + (prev[i] >> 1)) & 255
            for i in range(bpp, stride):
                line[i] = (line[i] + ((line[i - bpp] + prev[i]) >> 1)) & 255
        elif f == 4:  # Paeth
            for i in range(bpp):
                line[i] = (line[i] + prev[i]) & 255
            for i in range(bpp, stride):
                a, b, c = line[i - bpp], prev[i], prev[i - bpp]
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif f != 0:
            sys.exit("%s: bad PNG filter %d in row %d" % (path, f, y))
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows

path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
w, h, bpp, rows = read_png(path)
if (w, h) != (want_w, want_h):
    sys.exit("%s is %dx%d, expected %dx%d" % (path, w, h, want_w, want_h))
colours, nonwhite, dark, vivid, n = set(), 0, 0, 0, 0
for row in rows[::2]:  # every other row is plenty
    for x in range(0, w * bpp, bpp * 2):
        r, g, b = row[x], row[x + 1], row[x + 2]
        colours.add((r, g, b))
        hi, lo = max(r, g, b), min(r, g, b)
        nonwhite += lo < 250
        dark += hi < 150
        vivid += hi - lo > 40
        n += 1
print("%s: %dx%d, %d colours, %.1f%% not white, %.2f%% dark, %.2f%% vivid"
      % (path, w, h, len(colours), 100.0 * nonwhite / n, 100.0 * dark / n, 100.0 * vivid / n))
problems = []
if len(colours) < 100: problems.append("fewer than 100 distinct colours")
if nonwhite < 0.3 * n: problems.append("less than 30% of the pixels are not white")
if dark < 0.002 * n: problems.append("almost no dark pixels (no text or axes?)")
# 0.3%: a blank page has none; the comparison page, without a plan panel since the plan
# stopped dwarfing the band, has about 0.4%.
if vivid < 0.003 * n: problems.append("almost no coloured pixels (no charts?)")
if problems:
    sys.exit(path + " looks blank: " + "; ".join(problems))
EOF

ALL="fan-completions s-curve stage-occupancy utilisation health exclusivity spend"
has_svgs() {  # has_svgs DOM ID... : every id is an <svg> element of the rendered DOM
  local dom=$1; shift
  /usr/bin/python3 - "$dom" "$@" <<'EOF'
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
missing = [i for i in sys.argv[2:] if not re.search(r'<svg\b[^>]*\bid="%s"' % re.escape(i), dom)]
if missing:
    sys.exit("no <svg> with id " + ", ".join(missing) + " in the rendered DOM (%d bytes)" % len(dom))
EOF
}

# A small run: the core charts, and a one-line note for each partnership chart it cannot draw.
check "run example.toml" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/example.toml" -o example.h5 -r 20 -t 2
check "report it" 0 "$LEPSIM" report example.h5 -o example.html
browse example.html example.png example.dom
expect "chromium wrote the screenshot" test -s example.png
expect "the screenshot is ${W}x${H} and not blank" /usr/bin/python3 check_png.py example.png $W $H
expect "chromium dumped the DOM" test -s example.dom
expect "the DOM has the core charts" has_svgs example.dom fan-completions s-curve stage-occupancy utilisation
expect "the DOM notes the charts the run cannot draw" grep -q 'class="missing"' example.dom

# The national default: every mechanism on, and its plan.
check "run bsf.toml" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/bsf.toml" -o bsf.h5 -r 8 -t 2
check "report it" 0 "$LEPSIM" report bsf.h5 -o bsf.html
browse bsf.html bsf.png bsf.dom
expect "the screenshot is ${W}x${H} and not blank" /usr/bin/python3 check_png.py bsf.png $W $H
expect "the DOM has every chart" has_svgs bsf.dom $ALL
expect "the DOM has the plan line" grep -q 'class="plan"' bsf.dom
# The Department's plan (1,312 by month 120) shares the band's scale: no second panel.
expect "the plan shares the band's scale" /bin/sh -c "! grep -q 'id=\"fan-plan\"' bsf.dom"
expect "the spend chart draws the envelope" grep -q 'class="envelope"' bsf.dom

# The comparison page: the default and a policy variant, same seed (paired), a target.
check "run practices-mandated.toml" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/policy/practices-mandated.toml" -o mandated.h5 -r 8 -t 2
check "run national-capacity-doubled.toml" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/policy/national-capacity-doubled.toml" -o doubled.h5 -r 8 -t 2
check "run streamlined-procurement.toml" 0 "$LEPSIM" run "$SOURCE_DIR/scenarios/policy/streamlined-procurement.toml" -o streamlined.h5 -r 8 -t 2
check "compare them in a report" 0 "$LEPSIM" report bsf.h5 mandated.h5 doubled.h5 streamlined.h5 -o compare.html --target 400:120
browse compare.html compare.png compare.dom
expect "the comparison screenshot is ${W}x${H} and not blank" /usr/bin/python3 check_png.py compare.png $W $H
expect "the comparison DOM has every chart" has_svgs compare.dom cmp-fan cmp-s-curve diff-completed_month60 diff-completed_month120 cmp-spend
expect "the S-curve marks the target month and the P80 months" grep -q 'class="target-marker"' compare.dom
expect "the variants table gives cost per school" grep -q 'cost per school delivered by month 120' compare.dom
expect "the differences table gives the extra cost per extra school" grep -q 'extra cost per extra school' compare.dom

# The calibration page (lepsim calibrate --report): implausibility by wave, marginals, pairs,
# the predictive check. The page is shorter than the window, so only the DOM is judged.
# A cheap one (budget 2,000; minutes under the sanitizers otherwise): the page, not the fit, is judged.
cal=$(example_calibration cal 's/^budget = .*/budget = 2000/')
check "a small calibration with its report" 0 "$LEPSIM" calibrate "$cal" -o cal.h5 -t 2 --report cal.html
browse cal.html cal.png cal.dom
expect "chromium wrote the calibration screenshot" test -s cal.png
expect "the calibration DOM has its four charts" has_svgs cal.dom cal-waves cal-marginals cal-pairs cal-predictive

exit $fail
