// Package pdf writes PDF documents directly: pages of text, lines and
// rectangles, with TrueType fonts embedded as subsets (CIDFontType2,
// Identity-H, with a ToUnicode map so the text extracts), an outline, and a
// small flow layout (paragraphs, tables with repeated headings, page
// breaks) for documents that are mostly text and tables.
//
// It exists because headless Chromium needs tens of seconds to print a
// bulletin of 10,000 findings (issue #7); this package typesets one in a
// fraction of a second. It knows only what the bulletins need: horizontal
// text, no kerning or shaping beyond one glyph per character, CJK line
// breaking with the common 避头尾 rules.
package pdf
