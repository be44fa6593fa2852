package pdf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
)

// Font is one TrueType face, from a .ttf file or one face of a .ttc
// collection, loaded for measuring text and for embedding a subset of it.
// Only glyf-outline (TrueType) faces load: a PDF embeds their subset as a
// CIDFontType2 font, which keeps the text extractable and the file small.
// A Font is read-only after loading and safe for concurrent use.
type Font struct {
	Family string // e.g. "AR PL UKai CN"
	PSName string // PostScript name, e.g. "UKaiCN"
	Path   string
	Index  int // face index in a collection

	tables    map[string][]byte // the tables it uses, but glyf
	glyf      *io.SectionReader // glyph outlines, read as a subset needs them
	upem      int
	numGlyphs int
	longLoca  bool
	advances  []uint16 // per glyph, from hmtx
	cmap      map[rune]uint16
	ascent    int16
	descent   int16 // negative
	bbox      [4]int16
	capHeight int16
}

// ErrNotTrueType means the face has no glyf outlines (e.g. a CFF OpenType font).
var ErrNotTrueType = errors.New("not a TrueType (glyf) font")

// sfnt table directory of one face: tag → offset, length within the file.
type tableDir map[string][2]uint32

func readDir(r io.ReaderAt, offset uint32) (tableDir, error) {
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], int64(offset)); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[4:]))
	recs := make([]byte, 16*n)
	if _, err := r.ReadAt(recs, int64(offset)+12); err != nil {
		return nil, err
	}
	d := tableDir{}
	for i := range n {
		rec := recs[16*i:]
		d[string(rec[:4])] = [2]uint32{binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])}
	}
	return d, nil
}

// faceOffsets lists the table-directory offsets of the faces in a file.
func faceOffsets(r io.ReaderAt) ([]uint32, error) {
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, err
	}
	switch string(hdr[:4]) {
	case "ttcf":
		n := binary.BigEndian.Uint32(hdr[8:])
		if n == 0 || n > 256 {
			return nil, fmt.Errorf("font collection with %d faces", n)
		}
		offs := make([]byte, 4*n)
		if _, err := r.ReadAt(offs, 12); err != nil {
			return nil, err
		}
		out := make([]uint32, n)
		for i := range out {
			out[i] = binary.BigEndian.Uint32(offs[4*i:])
		}
		return out, nil
	case "\x00\x01\x00\x00", "true", "OTTO":
		return []uint32{0}, nil
	}
	return nil, errors.New("not an sfnt font file")
}

// names reads the family names (IDs 1 and 16, every language) and the
// PostScript name (ID 6) of a name table.
func names(tab []byte) (families []string, ps string) {
	if len(tab) < 6 {
		return nil, ""
	}
	count := int(binary.BigEndian.Uint16(tab[2:]))
	strs := int(binary.BigEndian.Uint16(tab[4:]))
	for i := range count {
		if 6+12*i+12 > len(tab) {
			break
		}
		rec := tab[6+12*i:]
		pid, id := binary.BigEndian.Uint16(rec), binary.BigEndian.Uint16(rec[6:])
		l, off := int(binary.BigEndian.Uint16(rec[8:])), int(binary.BigEndian.Uint16(rec[10:]))
		if (id != 1 && id != 16 && id != 6) || strs+off+l > len(tab) {
			continue
		}
		raw := tab[strs+off : strs+off+l]
		var s string
		switch pid {
		case 0, 3: // UTF-16BE
			u := make([]uint16, len(raw)/2)
			for j := range u {
				u[j] = binary.BigEndian.Uint16(raw[2*j:])
			}
			s = string(utf16.Decode(u))
		case 1: // Mac Roman; family names are ASCII in practice
			s = string(raw)
		default:
			continue
		}
		if id == 6 {
			if ps == "" {
				ps = s
			}
		} else if !slices.Contains(families, s) {
			families = append(families, s)
		}
	}
	return families, ps
}

// face is what a scan of the font folders learns about one face.
type face struct {
	path     string
	index    int
	families []string
	glyf     bool
}

var (
	scanOnce sync.Once
	faces    []face // of FontDirs

	loadMu sync.Mutex
	loaded = map[string]*Font{}
)

// FontDirs are searched for font files, in order.
var FontDirs = []string{"/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts"}

// scan lists the faces of the font files under dirs.
func scan(dirs []string) []face {
	var faces []face
	home, _ := os.UserHomeDir()
	for _, dir := range dirs {
		if rest, ok := strings.CutPrefix(dir, "~/"); ok {
			if home == "" {
				continue
			}
			dir = filepath.Join(home, rest)
		}
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".ttf", ".ttc", ".otf", ".otc":
			default:
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return nil
			}
			defer f.Close()
			offs, err := faceOffsets(f)
			if err != nil {
				return nil
			}
			for i, off := range offs {
				dir, err := readDir(f, off)
				if err != nil {
					continue
				}
				nt, ok := dir["name"]
				if !ok {
					continue
				}
				tab := make([]byte, nt[1])
				if _, err := f.ReadAt(tab, int64(nt[0])); err != nil {
					continue
				}
				fams, _ := names(tab)
				_, glyf := dir["glyf"]
				faces = append(faces, face{path: path, index: i, families: fams, glyf: glyf})
			}
			return nil
		})
	}
	return faces
}

// FindFont loads the first installed TrueType face whose family is one of
// families (exact names, case-insensitive, in order of preference) and
// that loads: a face that does not (a damaged file, an old font whose cmap
// maps GB2312 codes rather than Unicode) is passed over for the next. It
// returns nil and no error when none is installed, nil and the first
// face's error when none loads. Faces are loaded once per process.
func FindFont(families ...string) (*Font, error) {
	scanOnce.Do(func() { faces = scan(FontDirs) })
	return findIn(faces, families)
}

func findIn(faces []face, families []string) (*Font, error) {
	var first error
	for _, want := range families {
		for _, fc := range faces {
			if !fc.glyf || !slices.ContainsFunc(fc.families, func(fam string) bool { return strings.EqualFold(fam, want) }) {
				continue
			}
			f, err := LoadFont(fc.path, fc.index)
			if err == nil {
				return f, nil
			}
			if first == nil {
				first = err
			}
		}
	}
	return nil, first
}

// LoadFont loads face index of the font file at path (0 for a .ttf). The
// font keeps the file open, to read glyph outlines when a subset needs
// them; fonts are loaded once per process.
func LoadFont(path string, index int) (*Font, error) {
	key := fmt.Sprintf("%s#%d", path, index)
	loadMu.Lock()
	defer loadMu.Unlock()
	if f := loaded[key]; f != nil {
		return f, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := parseFont(file, index)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("font %s (face %d): %w", path, index, err)
	}
	f.Path, f.Index = path, index
	loaded[key] = f
	return f, nil
}

// usedTables are the tables a Font reads into memory (post only in part).
var usedTables = []string{"head", "hhea", "maxp", "hmtx", "cmap", "loca", "name", "OS/2", "post", "cvt ", "fpgm", "prep"}

func parseFont(r io.ReaderAt, index int) (*Font, error) {
	offs, err := faceOffsets(r)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(offs) {
		return nil, fmt.Errorf("no face %d (the file has %d)", index, len(offs))
	}
	dir, err := readDir(r, offs[index])
	if err != nil {
		return nil, err
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "cmap", "loca", "glyf"} {
		if _, ok := dir[tag]; !ok {
			if tag == "glyf" || tag == "loca" {
				return nil, ErrNotTrueType
			}
			return nil, fmt.Errorf("no %s table", tag)
		}
	}
	f := &Font{tables: map[string][]byte{}}
	for _, tag := range usedTables {
		loc, ok := dir[tag]
		if !ok {
			continue
		}
		n := loc[1]
		if tag == "post" {
			n = min(n, 32) // the header; glyph names are not needed
		}
		tab := make([]byte, n)
		if _, err := r.ReadAt(tab, int64(loc[0])); err != nil {
			return nil, fmt.Errorf("table %q: %w", tag, err)
		}
		f.tables[tag] = tab
	}
	f.glyf = io.NewSectionReader(r, int64(dir["glyf"][0]), int64(dir["glyf"][1]))
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, errors.New("truncated head, hhea or maxp table")
	}
	u16 := binary.BigEndian.Uint16
	f.upem = int(u16(head[18:]))
	if f.upem == 0 {
		return nil, errors.New("unitsPerEm is 0")
	}
	for i := range 4 {
		f.bbox[i] = int16(u16(head[36+2*i:]))
	}
	f.longLoca = u16(head[50:]) == 1
	f.numGlyphs = int(u16(maxp[4:]))
	f.ascent, f.descent = int16(u16(hhea[4:])), int16(u16(hhea[6:]))
	f.capHeight = f.ascent
	if os2 := f.tables["OS/2"]; len(os2) >= 90 && u16(os2) >= 2 {
		f.capHeight = int16(u16(os2[88:]))
	}
	nh := int(u16(hhea[34:]))
	hmtx := f.tables["hmtx"]
	if nh == 0 || nh > f.numGlyphs || len(hmtx) < 4*nh {
		return nil, errors.New("bad hmtx table")
	}
	f.advances = make([]uint16, f.numGlyphs)
	for g := range f.advances {
		if g < nh {
			f.advances[g] = u16(hmtx[4*g:])
		} else {
			f.advances[g] = f.advances[nh-1]
		}
	}
	want := 4 * (f.numGlyphs + 1)
	if !f.longLoca {
		want = 2 * (f.numGlyphs + 1)
	}
	if len(f.tables["loca"]) < want {
		return nil, errors.New("truncated loca table")
	}
	f.cmap, err = parseCmap(f.tables["cmap"], f.numGlyphs)
	if err != nil {
		return nil, err
	}
	fams, ps := names(f.tables["name"])
	if len(fams) > 0 {
		f.Family = fams[0]
	}
	f.PSName = psName(ps, f.Family)
	return f, nil
}

// psName keeps the PostScript name to the characters a PDF name may hold.
func psName(ps, family string) string {
	if ps == "" {
		ps = family
	}
	var b strings.Builder
	for _, r := range ps {
		if r > ' ' && r < 0x7f && !strings.ContainsRune("()<>[]{}/%#", r) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "Font"
	}
	return b.String()
}

// parseCmap reads the best Unicode subtable: format 12 (full repertoire),
// else format 4 (BMP).
func parseCmap(tab []byte, numGlyphs int) (map[rune]uint16, error) {
	u16, u32 := binary.BigEndian.Uint16, binary.BigEndian.Uint32
	if len(tab) < 4 {
		return nil, errors.New("truncated cmap table")
	}
	var best []byte
	bestFormat := 0
	for i := range int(u16(tab[2:])) {
		if 4+8*i+8 > len(tab) {
			break
		}
		rec := tab[4+8*i:]
		pid, eid, off := u16(rec), u16(rec[2:]), u32(rec[4:])
		if !(pid == 0 || (pid == 3 && (eid == 1 || eid == 10))) || int(off)+4 > len(tab) {
			continue
		}
		format := int(u16(tab[off:]))
		if (format == 12 && bestFormat != 12) || (format == 4 && bestFormat == 0) {
			best, bestFormat = tab[off:], format
		}
	}
	m := map[rune]uint16{}
	switch bestFormat {
	case 12:
		if len(best) < 16 {
			return nil, errors.New("truncated cmap format 12")
		}
		n := int(u32(best[12:]))
		if 16+12*n > len(best) {
			return nil, errors.New("truncated cmap format 12")
		}
		for i := range n {
			g := best[16+12*i:]
			start, end, gid := u32(g), u32(g[4:]), u32(g[8:])
			for c := start; c <= end && c <= 0x10ffff; c++ {
				if id := gid + (c - start); id < uint32(numGlyphs) && id != 0 {
					m[rune(c)] = uint16(id)
				}
			}
		}
	case 4:
		if len(best) < 14 {
			return nil, errors.New("truncated cmap format 4")
		}
		segs := int(u16(best[6:])) / 2
		ends, starts := 14, 16+2*segs
		deltas, ranges := starts+2*segs, starts+4*segs
		if ranges+2*segs > len(best) {
			return nil, errors.New("truncated cmap format 4")
		}
		for s := range segs {
			end, start := u16(best[ends+2*s:]), u16(best[starts+2*s:])
			delta, ro := u16(best[deltas+2*s:]), int(u16(best[ranges+2*s:]))
			for c := uint32(start); c <= uint32(end) && c != 0xffff; c++ {
				var gid uint16
				if ro == 0 {
					gid = uint16(c) + delta
				} else {
					at := ranges + 2*s + ro + 2*int(c-uint32(start))
					if at+2 > len(best) {
						continue
					}
					if gid = u16(best[at:]); gid != 0 {
						gid += delta
					}
				}
				if gid != 0 && int(gid) < numGlyphs {
					m[rune(c)] = gid
				}
			}
		}
	default:
		return nil, errors.New("no Unicode cmap subtable")
	}
	return m, nil
}

// Glyph is the glyph of r, and whether the font has one.
func (f *Font) Glyph(r rune) (uint16, bool) {
	g, ok := f.cmap[r]
	return g, ok
}

// Advance is the advance width of glyph g in font units (UnitsPerEm).
func (f *Font) Advance(g uint16) int {
	if int(g) >= len(f.advances) {
		return 0
	}
	return int(f.advances[g])
}

// UnitsPerEm is the font's design grid.
func (f *Font) UnitsPerEm() int { return f.upem }

// Ascent and Descent (negative) are the line metrics in font units.
func (f *Font) Ascent() int  { return int(f.ascent) }
func (f *Font) Descent() int { return int(f.descent) }

// glyphData reads the outline of glyph g (empty for blank glyphs).
func (f *Font) glyphData(g uint16) ([]byte, error) {
	loca := f.tables["loca"]
	var start, end uint32
	if f.longLoca {
		start, end = binary.BigEndian.Uint32(loca[4*int(g):]), binary.BigEndian.Uint32(loca[4*int(g)+4:])
	} else {
		start, end = 2*uint32(binary.BigEndian.Uint16(loca[2*int(g):])), 2*uint32(binary.BigEndian.Uint16(loca[2*int(g)+2:]))
	}
	if end <= start {
		return nil, nil
	}
	if int64(end) > f.glyf.Size() {
		return nil, fmt.Errorf("glyph %d runs past the glyf table", g)
	}
	data := make([]byte, end-start)
	if _, err := f.glyf.ReadAt(data, int64(start)); err != nil {
		return nil, fmt.Errorf("glyph %d: %w", g, err)
	}
	return data, nil
}
