package detector

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

var (
	xmlDeclRE  = regexp.MustCompile(`^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']`)
	xmlEncRE   = regexp.MustCompile(`(^\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:\-]+)(["'])`)
	htmlMetaRE = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9._:\-]+)`)
)

// toUTF8 decodes body to valid UTF-8. The charset comes from a byte order
// mark, else the Content-Type header, else the document (an XML declaration
// for feeds, a <meta> for pages), else UTF-8. A header that claims UTF-8 for
// a body that is not, while the document names another charset, loses to the
// document: Japanese servers often send a default charset for Shift_JIS
// files. Undecodable bytes become U+FFFD. For XML the declared encoding is
// rewritten to UTF-8 so the feed parser does not decode twice.
func toUTF8(body []byte, contentType string, xmlDoc bool) []byte {
	out := decode(body, contentType, xmlDoc)
	out = bytes.TrimPrefix(out, []byte("\uFEFF"))
	if xmlDoc {
		out = xmlEncRE.ReplaceAll(out, []byte("${1}UTF-8${3}"))
	}
	return out
}

func decode(body []byte, contentType string, xmlDoc bool) []byte {
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return bytes.ToValidUTF8(body[3:], []byte("\uFFFD"))
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return decodeWith(body[2:], "utf-16be")
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return decodeWith(body[2:], "utf-16le")
	}
	valid := utf8.Valid(body)
	header := headerCharset(contentType)
	if header != "" {
		if enc, name := charset.Lookup(header); enc != nil {
			if name != "utf-8" {
				return decodeWith(body, name)
			}
			if valid {
				return body
			}
		}
	}
	if doc := docCharset(body, xmlDoc); doc != "" {
		if enc, name := charset.Lookup(doc); enc != nil && name != "utf-8" {
			return decodeWith(body, name)
		}
	}
	if valid {
		return body
	}
	return bytes.ToValidUTF8(body, []byte("\uFFFD"))
}

func decodeWith(body []byte, label string) []byte {
	enc, _ := charset.Lookup(label)
	if enc == nil || enc == encoding.Nop {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}

func headerCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		return strings.TrimSpace(params["charset"])
	}
	// Tolerate sloppy headers such as "text/html;charset=Shift_JIS;".
	_, after, ok := strings.Cut(strings.ToLower(contentType), "charset=")
	if !ok {
		return ""
	}
	after, _, _ = strings.Cut(after, ";")
	return strings.Trim(strings.TrimSpace(after), `"'`)
}

func docCharset(body []byte, xmlDoc bool) string {
	head := body[:min(len(body), 1024)]
	if m := xmlDeclRE.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	if !xmlDoc {
		if m := htmlMetaRE.FindSubmatch(head); m != nil {
			return string(m[1])
		}
	}
	return ""
}

// mediaType returns the lower-cased media type of a Content-Type header.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}
