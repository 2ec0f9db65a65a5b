package questions

import (
	"bytes"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Markdown renders the Markdown of prompts and rubrics to HTML that is safe to put in
// a page as it is: no script, no style, no frame, no form, no image, no event
// handler, and links only to http, https and mailto addresses. goldmark already
// leaves raw HTML out and refuses dangerous links; the allow-list below is what
// makes that a guarantee, whatever goldmark lets through. Styles are stripped
// because the pages' Content-Security-Policy allows no inline style; images because
// it allows only duet's own. It is safe for concurrent use.
type Markdown struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewMarkdown returns the renderer of GitHub-flavoured Markdown (tables, task
// lists, strikethrough, links written as plain addresses).
func NewMarkdown() *Markdown {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "strong", "em", "b", "i", "del", "s", "code", "pre", "kbd", "sub", "sup",
		"blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
		"table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|center|right)$`)).OnElements("th", "td")
	// Task lists: a checkbox outside any form, disabled, is only a picture.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").OnElements("input")
	// GFM's parts, with table alignment as an attribute: the style goldmark would
	// write otherwise is stripped.
	md := goldmark.New(goldmark.WithExtensions(extension.Strikethrough, extension.Linkify, extension.TaskList,
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute))))
	return &Markdown{md: md, policy: p}
}

// Render returns the HTML of src, sanitised. Markdown that goldmark cannot render
// (it never fails on text) would come out as escaped text.
func (m *Markdown) Render(src string) string {
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(src), &buf); err != nil {
		buf.Reset()
		buf.WriteString("<pre>" + bluemonday.StrictPolicy().Sanitize(src) + "</pre>")
	}
	return m.policy.Sanitize(buf.String())
}
