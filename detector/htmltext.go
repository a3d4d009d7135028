package detector

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Bounds on the raw text gathered from one page selection or one index
// item before normalisation (Normalize keeps far less). The item bound is
// small because nested items would otherwise cost quadratic work.
const (
	maxExtractBytes     = 1 << 20
	maxItemExtractBytes = 64 << 10
)

// skipped elements contribute no text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true,
	atom.Math: true, atom.Canvas: true, atom.Head: true,
}

// inline elements are not word boundaries; every other element is.
var inline = map[atom.Atom]bool{
	atom.A: true, atom.Abbr: true, atom.B: true, atom.Bdi: true, atom.Bdo: true,
	atom.Cite: true, atom.Code: true, atom.Data: true, atom.Del: true, atom.Dfn: true,
	atom.Em: true, atom.Font: true, atom.I: true, atom.Ins: true, atom.Kbd: true,
	atom.Label: true, atom.Mark: true, atom.Q: true, atom.Rp: true, atom.Rt: true,
	atom.Ruby: true, atom.S: true, atom.Samp: true, atom.Small: true, atom.Span: true,
	atom.Strong: true, atom.Sub: true, atom.Sup: true, atom.Time: true, atom.U: true,
	atom.Var: true, atom.Wbr: true,
}

// nodesText returns the normalised visible text of nodes.
func nodesText(nodes ...*html.Node) string {
	return nodesTextMax(maxExtractBytes, nodes...)
}

// nodesTextMax is nodesText reading at most limit bytes of raw text.
func nodesTextMax(limit int, nodes ...*html.Node) string {
	var b strings.Builder
	for _, n := range nodes {
		appendText(&b, n, limit)
		b.WriteByte(' ')
	}
	return Normalize(b.String())
}

func appendText(b *strings.Builder, n *html.Node, limit int) {
	// Iterative walk: hostile documents can nest deeply.
	type frame struct {
		n     *html.Node
		leave bool
	}
	stack := []frame{{n: n}}
	for len(stack) > 0 && b.Len() < limit {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.leave {
			b.WriteByte(' ')
			continue
		}
		switch f.n.Type {
		case html.TextNode:
			b.WriteString(f.n.Data)
			continue
		case html.ElementNode:
			if skipped[f.n.DataAtom] {
				continue
			}
			if !inline[f.n.DataAtom] {
				b.WriteByte(' ')
				stack = append(stack, frame{n: f.n, leave: true})
			}
		case html.DocumentNode:
		default:
			continue
		}
		// Push children in reverse so the first is visited first.
		for c := f.n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, frame{n: c})
		}
	}
}

// htmlText returns the normalised text of an HTML fragment (a feed
// description). Plain text goes through unchanged apart from entities.
func htmlText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return Normalize(s)
	}
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return Normalize(s)
	}
	return nodesText(doc)
}
