package publish

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Handler serves the published folder dir read-only: GET and HEAD of the
// files a Publisher writes, "/" as index.html, nothing else (no folder
// listings, no temporary files, no other methods).
func Handler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		name := path.Clean("/" + r.URL.Path)
		if name == "/" {
			name = "/index.html"
		}
		base := path.Base(name)
		if strings.Count(name, "/") != 1 || strings.HasPrefix(base, ".") || !published(base) {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(dir, base))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		if base == AtomFile {
			w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		http.ServeContent(w, r, base, st.ModTime(), f)
	})
}

// published reports whether name is one of the names a Publisher writes.
func published(name string) bool {
	if name == AtomFile || incidentName.MatchString(name) {
		return true
	}
	for _, lang := range Languages {
		if name == IndexFile(lang) {
			return true
		}
	}
	return false
}
