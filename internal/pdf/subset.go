package pdf

import (
	"encoding/binary"
	"sort"
	"unicode"
)

// composite glyph flags (OpenType glyf table)
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// components are the glyphs a composite glyph is built from.
func components(data []byte) []uint16 {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil
	}
	var out []uint16
	p := 10
	for p+4 <= len(data) {
		flags := binary.BigEndian.Uint16(data[p:])
		out = append(out, binary.BigEndian.Uint16(data[p+2:]))
		p += 4
		if flags&argsAreWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&haveTwoByTwo != 0:
			p += 8
		}
		if flags&moreComponents == 0 {
			break
		}
	}
	return out
}

// Subset is a TrueType font holding only the outlines of the used glyphs
// (and of the glyphs they are composed of, and glyph 0). Glyph IDs keep
// their numbers, so a PDF can address them with an identity CIDToGIDMap;
// the other glyphs are left empty. used maps each glyph to the character
// it shows, for the subset's own cmap. It has the tables a PDF FontFile2
// needs, and a cmap so that the subset is a usable font by itself.
func (f *Font) Subset(used map[uint16]rune) ([]byte, error) {
	outlines := map[uint16][]byte{}
	var visit func(g uint16, depth int) error
	visit = func(g uint16, depth int) error {
		if _, ok := outlines[g]; ok || int(g) >= f.numGlyphs || depth > 8 {
			return nil
		}
		data, err := f.glyphData(g)
		if err != nil {
			return err
		}
		outlines[g] = data
		for _, c := range components(data) {
			if err := visit(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(0, 0); err != nil {
		return nil, err
	}
	for g := range used {
		if err := visit(g, 0); err != nil {
			return nil, err
		}
	}

	be := binary.BigEndian
	var glyf []byte
	loca := make([]byte, 4*(f.numGlyphs+1))
	hmtx := make([]byte, 4*f.numGlyphs)
	src := f.tables["hmtx"]
	nh := int(be.Uint16(f.tables["hhea"][34:]))
	for g := range f.numGlyphs {
		be.PutUint32(loca[4*g:], uint32(len(glyf)))
		data, ok := outlines[uint16(g)]
		if !ok {
			continue
		}
		glyf = append(glyf, data...)
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
		be.PutUint16(hmtx[4*g:], f.advances[g])
		if g < nh {
			copy(hmtx[4*g+2:4*g+4], src[4*g+2:])
		} else if at := 4*nh + 2*(g-nh); at+2 <= len(src) {
			copy(hmtx[4*g+2:4*g+4], src[at:])
		}
	}
	be.PutUint32(loca[4*f.numGlyphs:], uint32(len(glyf)))

	head := append([]byte(nil), f.tables["head"]...)
	be.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	be.PutUint16(head[50:], 1) // long loca
	hhea := append([]byte(nil), f.tables["hhea"]...)
	be.PutUint16(hhea[34:], uint16(f.numGlyphs))

	tables := map[string][]byte{"head": head, "hhea": hhea, "maxp": f.tables["maxp"],
		"hmtx": hmtx, "loca": loca, "glyf": glyf, "cmap": cmapTable(used)}
	for _, tag := range []string{"cvt ", "fpgm", "prep", "OS/2"} {
		if t, ok := f.tables[tag]; ok {
			tables[tag] = t
		}
	}
	// post: version 3 (no glyph names), the rest as in the font
	if p := f.tables["post"]; len(p) >= 32 {
		post := append([]byte(nil), p[:32]...)
		be.PutUint32(post, 0x00030000)
		tables["post"] = post
	}
	out := writeSfnt(tables)
	be.PutUint32(out[headOffset(out)+8:], 0xB1B0AFBA-checksum(out))
	return out, nil
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// writeSfnt lays out tables behind a table directory, each 4-byte aligned.
func writeSfnt(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	be := binary.BigEndian
	out := make([]byte, 12+16*n)
	be.PutUint32(out, 0x00010000)
	be.PutUint16(out[4:], uint16(n))
	be.PutUint16(out[6:], uint16(16<<es))
	be.PutUint16(out[8:], uint16(es))
	be.PutUint16(out[10:], uint16(16*n-16<<es))
	for i, t := range tags {
		data := tables[t]
		rec := out[12+16*i:]
		copy(rec, t)
		be.PutUint32(rec[4:], checksum(data))
		be.PutUint32(rec[8:], uint32(len(out)))
		be.PutUint32(rec[12:], uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out
}

func headOffset(sfnt []byte) int {
	n := int(binary.BigEndian.Uint16(sfnt[4:]))
	for i := range n {
		rec := sfnt[12+16*i:]
		if string(rec[:4]) == "head" {
			return int(binary.BigEndian.Uint32(rec[8:]))
		}
	}
	return 0
}

// cmapTable is a cmap table with one Windows Unicode subtable mapping each
// used character to its glyph: format 4 (BMP, segments of consecutive
// characters on consecutive glyphs) where it can hold them, else format 12
// (a format 4 subtable is at most 64 KB, about 8,000 segments, and holds
// no character beyond the BMP).
func cmapTable(used map[uint16]rune) []byte {
	type pair struct {
		r rune
		g uint16
	}
	var ps []pair
	seen := map[rune]bool{}
	for g, r := range used {
		if g != 0 && r > 0 && r <= unicode.MaxRune && !seen[r] {
			ps = append(ps, pair{r, g})
			seen[r] = true
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].r < ps[j].r })
	type run struct {
		start, end rune
		g          uint16 // glyph of start
	}
	var runs []run
	bmp := true
	for _, p := range ps {
		if n := len(runs); n > 0 && p.r == runs[n-1].end+1 && int(p.g) == int(runs[n-1].g)+int(p.r-runs[n-1].start) {
			runs[n-1].end = p.r
		} else {
			runs = append(runs, run{p.r, p.r, p.g})
		}
		bmp = bmp && p.r < 0xffff
	}
	be := binary.BigEndian
	var sub []byte
	encoding := uint16(1) // Unicode BMP
	if segs := len(runs) + 1; bmp && 16+8*segs <= 0xffff {
		// format 4, and the final 0xFFFF segment
		es := 0
		for 1<<(es+1) <= segs {
			es++
		}
		sub = make([]byte, 16+8*segs)
		be.PutUint16(sub, 4)
		be.PutUint16(sub[2:], uint16(len(sub)))
		be.PutUint16(sub[6:], uint16(2*segs))
		be.PutUint16(sub[8:], uint16(2<<es))
		be.PutUint16(sub[10:], uint16(es))
		be.PutUint16(sub[12:], uint16(2*segs-2<<es))
		ends, starts := 14, 16+2*segs
		deltas := starts + 2*segs // idRangeOffsets after them stay 0
		for i, r := range runs {
			be.PutUint16(sub[ends+2*i:], uint16(r.end))
			be.PutUint16(sub[starts+2*i:], uint16(r.start))
			be.PutUint16(sub[deltas+2*i:], r.g-uint16(r.start))
		}
		last := segs - 1
		be.PutUint16(sub[ends+2*last:], 0xffff)
		be.PutUint16(sub[starts+2*last:], 0xffff)
		be.PutUint16(sub[deltas+2*last:], 1)
	} else {
		encoding = 10 // Unicode full repertoire
		sub = make([]byte, 16+12*len(runs))
		be.PutUint16(sub, 12)
		be.PutUint32(sub[4:], uint32(len(sub)))
		be.PutUint32(sub[12:], uint32(len(runs)))
		for i, r := range runs {
			grp := sub[16+12*i:]
			be.PutUint32(grp, uint32(r.start))
			be.PutUint32(grp[4:], uint32(r.end))
			be.PutUint32(grp[8:], uint32(r.g))
		}
	}
	out := make([]byte, 12, 12+len(sub))
	be.PutUint16(out[2:], 1)        // one subtable
	be.PutUint16(out[4:], 3)        // Windows
	be.PutUint16(out[6:], encoding) // Unicode
	be.PutUint32(out[8:], 12)       // at offset 12
	return append(out, sub...)
}
