/* The program's 5x7 bitmap font, for the labels of figures: loss.png's axes and legends (src/app/plot.c) and the
 * labelled tiles of the sample grids (mg_image_draw_text). Digits, upper-case letters (lower case is drawn as upper
 * case) and the punctuation of labels; other characters are left blank. Not part of the public API. */
#ifndef MRIGAN_DATA_FONT_H
#define MRIGAN_DATA_FONT_H

#include <stdint.h>

#define MG_FONT_WIDTH   5
#define MG_FONT_HEIGHT  7
#define MG_FONT_ADVANCE 6 /* pixels from one character to the next */

/* MG_FONT_HEIGHT rows of character c, bit 4 the leftmost pixel; NULL when the font lacks it (a space). */
const uint8_t *mg_font_glyph(char c);

#endif
