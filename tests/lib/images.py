# SPDX-License-Identifier: ISC
"""Just enough image handling to compare screens: PPM (what spicy-screenshot
writes), PNG (what QEMU's screendump gives through libvirt), and writing PNG
for people to look at. Python's standard library only."""

import collections
import struct
import zlib

# QEMU's VGA text mode (80x25 cells of 9x16 pixels) as its screendump and a
# SPICE client show it, in the colours the demo guest draws its banner with
# (demo/guest/paprika-guest.asm): white on blue, light-red block letters,
# and last a line of grey on blue on text row 19.
TEXT_SIZE = (720, 400)
CELL_W, CELL_H = 9, 16
VGA_BLUE = b"\x00\x00\xa8"
VGA_LIGHT_RED = b"\xff\x57\x57"
VGA_GREY = b"\xa8\xa8\xa8"
BANNER_LAST_ROW = 19
# QEMU's "Guest has not initialized the display (yet)." screen: that
# sentence in grey on black, one line of text.
PLACEHOLDER_GREY = b"\xaa\xaa\xaa"


class ImageError(Exception):
    pass


def read_ppm(data):
    """(width, height, RGB bytes) of a binary PPM (P6)."""
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise ImageError("not an 8-bit binary PPM")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:pos + 1 + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ImageError("truncated PPM")
    return width, height, pixels


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(data):
    """(width, height, RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ImageError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ImageError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ImageError("only 8-bit RGB/RGBA non-interlaced PNG is supported")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, cur = line[0], bytearray(line[1:])
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                cur[x] = (cur[x] + a) & 0xff
            elif kind == 2:
                cur[x] = (cur[x] + b) & 0xff
            elif kind == 3:
                cur[x] = (cur[x] + ((a + b) >> 1)) & 0xff
            elif kind == 4:
                cur[x] = (cur[x] + _paeth(a, b, c)) & 0xff
            elif kind != 0:
                raise ImageError(f"bad PNG filter {kind}")
        prev = cur
        out += cur if bpp == 3 else bytes(v for i, v in enumerate(cur) if i % 4 != 3)
    return width, height, bytes(out)


def read_image(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return read_png(data)
    return read_ppm(data)


def write_png(path, width, height, rgb):
    rows = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3]
                    for y in range(height))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body)))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def compare(a, b):
    """Number of differing pixels between two (w, h, rgb) images; -1 if sizes
    differ. Two black frames give 0: a test asks same_screen() instead."""
    if a[0] != b[0] or a[1] != b[1]:
        return -1
    pa, pb = a[2], b[2]
    if pa == pb:
        return 0
    return sum(1 for i in range(0, len(pa), 3) if pa[i:i + 3] != pb[i:i + 3])


def read_xwd(path):
    """(width, height, RGB) of a 24/32-bit ZPixmap xwd dump of the root window."""
    with open(path, "rb") as f:
        data = f.read()
    h = struct.unpack(">25I", data[:100])
    header_size, fmt, width, height = h[0], h[2], h[4], h[5]
    byte_order, bpp, bpl, ncolors = h[7], h[11], h[12], h[19]
    if fmt != 2 or bpp not in (24, 32):
        raise ImageError(f"unsupported xwd: format {fmt}, {bpp} bpp")
    step = bpp // 8
    pixels = data[header_size + 12 * ncolors:]
    rgb = bytearray(width * height * 3)
    for y in range(height):
        row = pixels[y * bpl:y * bpl + width * step]
        out = rgb[y * width * 3:(y + 1) * width * 3]
        if byte_order == 0:  # LSB first: B G R [X]
            out[0::3], out[1::3], out[2::3] = row[2::step], row[1::step], row[0::step]
        else:                # [X] R G B
            base = step - 3
            out[0::3], out[1::3], out[2::3] = row[base::step], row[base + 1::step], row[base + 2::step]
        rgb[y * width * 3:(y + 1) * width * 3] = out
    return width, height, bytes(rgb)


def find(big, small, bpp=3):
    """Where small appears pixel for pixel inside big, or None; pixels of bpp
    bytes (3: RGB). A blank small is found on any screen with that much
    black: a test asks find_screen()."""
    bw, bh, bp = big
    sw, sh, sp = small
    # Anchor on a row with the banner in it, then check every row.
    anchor = next((y for y in range(sh)
                   if len(set(sp[y * sw * bpp:(y + 1) * sw * bpp:bpp])) > 1), 0)
    needle = sp[anchor * sw * bpp:(anchor + 1) * sw * bpp]
    for y in range(anchor, bh - (sh - anchor) + 1):
        row = bp[y * bw * bpp:(y + 1) * bw * bpp]
        x = row.find(needle)
        while x != -1:
            if x % bpp == 0:
                x0, y0 = x // bpp, y - anchor
                if all(bp[((y0 + r) * bw + x0) * bpp:((y0 + r) * bw + x0 + sw) * bpp] ==
                       sp[r * sw * bpp:(r + 1) * sw * bpp] for r in range(sh)):
                    return x0, y0
            x = row.find(needle, x + 1)
    return None


def colours(img):
    """A Counter of img's pixels (3-byte RGB values)."""
    rgb = img[2]
    return collections.Counter(rgb[i:i + 3] for i in range(0, len(rgb), 3))


def is_blank(img):
    """Whether img is one colour all over (or empty): what a SPICE client
    shows, black, before the guest has drawn."""
    w, h, rgb = img
    return rgb == rgb[:3] * (w * h)


def is_placeholder(img):
    """Whether img is QEMU's "Guest has not initialized the display (yet)."
    screen: black and its grey (0xaaaaaa) only, the grey in one line of
    text (at most CELL_H rows; 640x480 and rows 226 to 238 in QEMU 7.2)."""
    w, h, rgb = img
    if not rgb or rgb.translate(None, b"\x00\xaa") or \
            not rgb[0::3] == rgb[1::3] == rgb[2::3]:
        return False
    rows = [y for y in range(h) if rgb[y * w * 3:(y + 1) * w * 3].strip(b"\x00")]
    return bool(rows) and rows[-1] - rows[0] < CELL_H


def shows_banner(img):
    """Whether img is the demo guest's banner drawn to its end: text mode,
    the blue background in both corners and on most of the screen, the
    light-red letters on a tenth of it or more, and grey text on row 19,
    the last thing the guest writes. Neither SeaBIOS's screen nor QEMU's
    placeholder."""
    w, h, rgb = img
    if (w, h) != TEXT_SIZE or rgb[:3] != VGA_BLUE or rgb[-3:] != VGA_BLUE:
        return False
    count = colours(img)
    if count[VGA_BLUE] * 2 < w * h or count[VGA_LIGHT_RED] * 10 < w * h:
        return False
    row = w * CELL_H * 3
    last = rgb[BANNER_LAST_ROW * row:(BANNER_LAST_ROW + 1) * row]
    return colours((w, CELL_H, last))[VGA_GREY] > 0


def not_drawn(img):
    """Why img shows nothing a comparison could rest on (QEMU's placeholder,
    or one colour all over), or None when it shows something."""
    if is_placeholder(img):
        return "QEMU's placeholder \"Guest has not initialized the display (yet).\""
    if is_blank(img):
        return f"blank (all #{img[2][:3].hex()})" if img[2] else "empty"
    return None


def describe(img):
    """A few words on what img shows, for a failure message."""
    if img is None:
        return "no screen at all"
    w, h = img[:2]
    why = not_drawn(img)
    if why:
        return f"{why}, {w}x{h}"
    if shows_banner(img):
        return f"the demo guest's banner, {w}x{h}"
    count = colours(img)
    top = count.most_common(1)[0][0]
    return f"{w}x{h} in {len(count)} colours, mostly #{top.hex()}"


def same_screen(a, b, cursor=False, names=("the capture", "the guest's screen")):
    """Whether a and b are the same drawn screen: (ok, a sentence saying
    why not, or what matched). Never when either side is blank or QEMU's
    placeholder: two black frames are not a match. Pixel for pixel; with
    cursor, the pixels that differ may also lie in one text cell (a
    blinking text-mode cursor, on one side and not the other)."""
    for img, name in zip((a, b), names):
        why = not_drawn(img)
        if why:
            return False, f"{name} is {why}: nothing drawn to compare"
    if a[:2] != b[:2]:
        return False, f"{names[0]} is {a[0]}x{a[1]}, {names[1]} {b[0]}x{b[1]}"
    w, pa, pb = a[0], a[2], b[2]
    if pa == pb:
        return True, f"the same {w}x{a[1]} screen"
    diff = [i // 3 for i in range(0, len(pa), 3) if pa[i:i + 3] != pb[i:i + 3]]
    xs, ys = [i % w for i in diff], [i // w for i in diff]
    box = f"from ({min(xs)},{min(ys)}) to ({max(xs)},{max(ys)})"
    if cursor and max(xs) - min(xs) < CELL_W and max(ys) - min(ys) < CELL_H:
        return True, (f"the same screen but for {len(diff)} pixels in one text cell {box} "
                      "(the cursor)")
    return False, f"{len(diff)} pixels differ, {box}"


def find_screen(big, small, name="the guest's screen"):
    """Where small is inside big pixel for pixel: (x, y) and a sentence, or
    None and a sentence saying why not. A blank small or QEMU's placeholder
    is never looked for."""
    why = not_drawn(small)
    if why:
        return None, f"{name} is {why}: nothing to look for"
    pos = find(big, small)
    if pos is None:
        return None, f"{name} ({describe(small)}) is not on the screen"
    return pos, f"{name} is on the screen at {pos}"
