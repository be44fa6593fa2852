package web

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"ducha/store"
)

// Evidence uploads: each file is limited in size, its type sniffed from its
// bytes (the name and the browser's claim are not trusted), and stored in
// UploadDir under its SHA-256, a folder nothing serves; it is served back
// only through /evidence/{id}, to users who may see its finding.

var officeTypes = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".doc":  "application/msword",
	".xls":  "application/vnd.ms-excel",
	".ppt":  "application/vnd.ms-powerpoint",
}

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// sniff decides the stored content type of an upload, or refuses it.
func sniff(name string, data []byte) (string, error) {
	ct := http.DetectContentType(data)
	base, _, _ := mime.ParseMediaType(ct)
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case base == "image/jpeg", base == "image/png", base == "image/gif", base == "image/webp", base == "application/pdf":
		return base, nil
	case base == "text/plain" && (ext == ".txt" || ext == ".csv"):
		return "text/plain; charset=utf-8", nil
	case base == "application/zip" && (ext == ".docx" || ext == ".xlsx" || ext == ".pptx"):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			for _, f := range zr.File {
				if f.Name == "[Content_Types].xml" {
					return officeTypes[ext], nil
				}
			}
		}
	case bytes.HasPrefix(data, oleMagic) && (ext == ".doc" || ext == ".xls" || ext == ".ppt"):
		return officeTypes[ext], nil
	}
	return "", &inputError{"evidence", fmt.Sprintf("文件 %s 的类型 (%s) 不被接受; 只接受图片 (JPEG/PNG/GIF/WebP)、PDF、纯文本 (.txt/.csv) 和 Office 文档", name, base)}
}

// saveUploads checks and stores the files of one request and returns their
// records (not yet written to the database).
func (s *Server) saveUploads(fhs []*multipart.FileHeader, findingID int64, by string) ([]*store.EvidenceFile, error) {
	if len(fhs) > 10 {
		return nil, &inputError{"evidence", "一次最多上传 10 个文件"}
	}
	var out []*store.EvidenceFile
	for _, fh := range fhs {
		name := filepath.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
		if fh.Size > s.opt.MaxUpload {
			return nil, &inputError{"evidence", fmt.Sprintf("文件 %s 过大 (%d 字节), 上限 %d MB", name, fh.Size, s.opt.MaxUpload>>20)}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, s.opt.MaxUpload+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > s.opt.MaxUpload {
			return nil, &inputError{"evidence", fmt.Sprintf("文件 %s 过大, 上限 %d MB", name, s.opt.MaxUpload>>20)}
		}
		if len(data) == 0 {
			return nil, &inputError{"evidence", fmt.Sprintf("文件 %s 是空的", name)}
		}
		ct, err := sniff(name, data)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])
		if err := s.storeBlob(hash, data); err != nil {
			return nil, err
		}
		out = append(out, &store.EvidenceFile{FindingID: findingID, SHA256: hash, Name: name, ContentType: ct,
			Size: int64(len(data)), UploadedBy: by, UploadedAt: s.now().UTC()})
	}
	return out, nil
}

func (s *Server) blobPath(hash string) string {
	return filepath.Join(s.opt.UploadDir, hash[:2], hash)
}

// storeBlob writes data under its hash, atomically (temp file + rename);
// the same content is stored once.
func (s *Server) storeBlob(hash string, data []byte) error {
	p := s.blobPath(hash)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// evidence serves an evidence file to a user who may see its finding.
func (s *Server) evidence(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	ev, err := s.db.Evidence(r.Context(), id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if _, err := s.visibleFinding(r.Context(), c.User, ev.FindingID); err != nil {
		s.fail(w, r, c, err)
		return
	}
	f, err := os.Open(s.blobPath(ev.SHA256))
	if err != nil {
		s.fail(w, r, c, fmt.Errorf("evidence %d: %w", id, err))
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", ev.ContentType)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	disp := "attachment"
	if strings.HasPrefix(ev.ContentType, "image/") || ev.ContentType == "application/pdf" {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": ev.Name}))
	http.ServeContent(w, r, "", ev.UploadedAt, f)
}
