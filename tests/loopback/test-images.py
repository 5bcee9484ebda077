# SPDX-License-Identifier: ISC
"""tests/lib/images.py's screen checks, on synthetic frames and on three real
screendumps of the demo guest under QEMU 7.2 (tests/fixtures/screens: its
placeholder, SeaBIOS, the banner): what is blank, what is QEMU's
"Guest has not initialized the display (yet).", what is the banner, and
that two blank or placeholder frames are never called the same screen."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, note, top_srcdir  # noqa: E402

import images  # noqa: E402

BLACK, WHITE = b"\x00\x00\x00", b"\xff\xff\xff"
SCREENS = os.path.join(top_srcdir, "tests", "fixtures", "screens")


def frame(w, h, colour):
    return bytearray(colour * (w * h))


def fill(rgb, w, x0, y0, x1, y1, colour):
    """Paints the rectangle x0 <= x < x1, y0 <= y < y1 of rgb in colour."""
    for y in range(y0, y1):
        rgb[(y * w + x0) * 3:(y * w + x1) * 3] = colour * (x1 - x0)


def placeholder():
    """Like QEMU's: 640x480 black, one line of grey "text" in rows 226-238."""
    rgb = frame(640, 480, BLACK)
    for x in range(144, 492, 3):
        fill(rgb, 640, x, 226, x + 1, 239, images.PLACEHOLDER_GREY)
    return 640, 480, bytes(rgb)


def banner(last_line=True):
    """Like the demo guest's: blue, a band of light-red blocks, white text,
    and (drawn to its end) grey text on row 19."""
    w, h = images.TEXT_SIZE
    rgb = frame(w, h, images.VGA_BLUE)
    fill(rgb, w, 18, 48, 702, 208, images.VGA_LIGHT_RED)
    fill(rgb, w, 18, 272, 300, 284, WHITE)
    if last_line:
        fill(rgb, w, 18, 19 * 16 + 3, 460, 19 * 16 + 12, images.VGA_GREY)
    return w, h, bytes(rgb)


def seabios():
    """Like SeaBIOS's text screen: black, two lines of grey text."""
    w, h = images.TEXT_SIZE
    rgb = frame(w, h, BLACK)
    fill(rgb, w, 0, 2, 400, 14, images.VGA_GREY)
    fill(rgb, w, 0, 34, 300, 46, images.VGA_GREY)
    return w, h, bytes(rgb)


def changed(img, cells):
    """img with the pixels at cells ((x, y) pairs) turned white."""
    w, h, rgb = img
    rgb = bytearray(rgb)
    for x, y in cells:
        rgb[(y * w + x) * 3:(y * w + x + 1) * 3] = WHITE
    return w, h, bytes(rgb)


def main():
    black = (720, 400, bytes(frame(720, 400, BLACK)))
    black_vga = (640, 480, bytes(frame(640, 480, BLACK)))
    ph, ban, bios = placeholder(), banner(), seabios()

    # --- what a frame is ---------------------------------------------------
    check(images.is_blank(black) and images.is_blank(black_vga),
          "a black frame is blank")
    check(not images.is_blank(ban) and not images.is_blank(ph),
          "the banner and the placeholder are not blank")
    check(images.is_placeholder(ph), "one line of 0xaaaaaa on black is QEMU's placeholder")
    check(not images.is_placeholder(black), "an all black frame is not the placeholder "
          "(it is blank)")
    check(not images.is_placeholder(bios), "two lines of grey text are not the placeholder")
    other = bytearray(ph[2])
    other[(230 * 640 + 150) * 3:(230 * 640 + 151) * 3] = b"\xaa\xaa\xab"
    check(not images.is_placeholder((640, 480, bytes(other))),
          "one pixel of another grey and it is not the placeholder")
    check(images.shows_banner(ban), "blue, light-red blocks and row 19's grey: the banner")
    check(not images.shows_banner(banner(last_line=False)),
          "the banner without its last line (drawn halfway) is not yet the banner")
    check(not any(images.shows_banner(x) for x in (black, ph, bios)),
          "black, the placeholder and SeaBIOS's screen are not the banner")
    blue = (720, 400, bytes(frame(720, 400, images.VGA_BLUE)))
    check(not images.shows_banner(blue), "all blue is not the banner")

    # --- the same screen, or not --------------------------------------------
    ok, why = images.same_screen(black, black)
    note(f"two black frames: {why}")
    check(not ok and why == "the capture is blank (all #000000): nothing drawn to compare",
          "two black frames are not the same screen, and the sentence says the capture "
          "is blank", why)
    ok, why = images.same_screen(ban, black)
    check(not ok and why.startswith("the guest's screen is blank"),
          "the banner against a black guest screen: the guest's side is blank", why)
    ok, why = images.same_screen(ph, ph, names=("the client's frame", "the guest's screen"))
    note(f"two placeholders: {why}")
    check(not ok and why.startswith("the client's frame is QEMU's placeholder"),
          "two placeholder frames are not the same screen either", why)
    ok, why = images.same_screen(ban, ban)
    check(ok and why == "the same 720x400 screen", "the banner is the same screen as itself", why)
    ok, why = images.same_screen(ban, ph)
    check(not ok and "placeholder" in why, "the banner against the placeholder: no", why)
    ok, why = images.same_screen(bios, ban)
    check(not ok and why.startswith("288000 pixels differ"), "SeaBIOS's screen against the banner: no", why)
    one = changed(ban, [(700, 390)])
    ok, why = images.same_screen(one, ban)
    check(not ok and why == "1 pixels differ, from (700,390) to (700,390)",
          "one pixel off is not the same screen", why)
    cursor = changed(bios, [(x, y) for x in range(9) for y in range(62, 64)])
    ok, why = images.same_screen(cursor, bios)
    check(not ok, "a cursor's pixels differ when the caller does not allow them", why)
    ok, why = images.same_screen(cursor, bios, cursor=True)
    check(ok and "(the cursor)" in why, "with cursor=True, 18 pixels in one 9x16 cell are "
          "the blinking cursor", why)
    two = changed(bios, [(0, 62), (9, 62)])
    ok, why = images.same_screen(two, bios, cursor=True)
    check(not ok, "pixels in two cells are more than a cursor", why)
    ok2, why2 = images.same_screen(black_vga, black)
    check(not ok2 and "blank" in why2, "a black 640x480 against a black 720x400: blank first",
          why2)
    check(images.compare(black, black) == 0,
          "compare() itself still counts 0 differing pixels between two black frames")

    # --- a screen inside a bigger one ---------------------------------------
    big = bytearray(frame(1024, 768, BLACK))
    for y in range(400):
        big[((100 + y) * 1024 + 50) * 3:((100 + y) * 1024 + 770) * 3] = \
            ban[2][y * 720 * 3:(y + 1) * 720 * 3]
    big = (1024, 768, bytes(big))
    pos, why = images.find_screen(big, ban)
    check(pos == (50, 100), "find_screen finds the banner where it is", why)
    pos, why = images.find_screen(big, black)
    check(pos is None and "blank" in why,
          "find_screen looks for no black frame (find() would find one on any black screen)",
          why)
    check(images.find((1024, 768, bytes(frame(1024, 768, BLACK))), black) == (0, 0),
          "as find() itself would, on a black X screen")
    pos, why = images.find_screen(black_vga, bios)
    check(pos is None and why.startswith("the guest's screen (720x400 in 2 colours"),
          "a screen not there: None, saying what was looked for", why)

    # --- real screendumps of the demo guest (QEMU 7.2) ----------------------
    real = {}
    for name in ("placeholder", "seabios", "banner"):
        real[name] = images.read_image(os.path.join(SCREENS, name + ".png"))
        note(f"{name}.png: {images.describe(real[name])}")
    check(images.is_placeholder(real["placeholder"]) and
          not images.is_placeholder(real["seabios"]) and
          not images.is_placeholder(real["banner"]),
          "of QEMU's real screens only its placeholder is the placeholder")
    check(images.shows_banner(real["banner"]) and
          not images.shows_banner(real["seabios"]) and
          not images.shows_banner(real["placeholder"]),
          "of QEMU's real screens only the banner is the banner")
    ok, why = images.same_screen(real["placeholder"], real["placeholder"])
    check(not ok, "two real placeholders are not the same screen", why)
    ok, why = images.same_screen(real["banner"], real["banner"])
    check(ok, "the real banner is the same screen as itself", why)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
