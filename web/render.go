package web

import (
	"bytes"
	"embed"
	"html/template"
	"io"
)

//go:embed templates
var templateFS embed.FS

// xmlHeader starts a standalone SVG document.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// svgColors are the fixed colours diagram.svg uses, by name.
var svgColors = map[string]string{
	"page": colorPage, "text": colorText, "muted": colorMuted, "edge": colorEdge, "onMark": colorOnMark,
}

// svgTemplate draws a diagram. It is an html/template, so every value is
// escaped; its output is well-formed XML because the values are cleaned
// of what XML cannot carry (see clean).
var svgTemplate = template.Must(template.New("diagram.svg").
	Funcs(template.FuncMap{"color": func(name string) string { return svgColors[name] }}).
	ParseFS(templateFS, "templates/diagram.svg"))

// pageTemplates are the pages, each parsed with the shared layout.
var pageTemplates = func() map[string]*template.Template {
	out := make(map[string]*template.Template)
	for _, name := range []string{"index.html", "target.html", "error.html"} {
		out[name] = template.Must(template.New("layout.html").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name))
	}
	return out
}()

// writeSVG draws s on w; standalone adds the XML declaration.
func writeSVG(w io.Writer, s spec, standalone bool) error {
	if standalone {
		if _, err := io.WriteString(w, xmlHeader); err != nil {
			return err
		}
	}
	return svgTemplate.Execute(w, layout(s))
}

// inlineSVG draws s for embedding in a page. The result comes from
// html/template, so it is safe to insert as HTML.
func inlineSVG(s spec) (template.HTML, error) {
	var b bytes.Buffer
	if err := writeSVG(&b, s, false); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// pageData is what layout.html gets: the page's title, the link prefix,
// the stylesheet and the page's own data.
type pageData struct {
	Title  string
	Prefix string
	// MetricsPath is the metrics endpoint to link, if any.
	MetricsPath string
	// Where names the site and shard ("site fra1, shard 0/2"), if any.
	Where string
	CSS   template.CSS
	Body  any
}

// renderPage executes the named page into a buffer.
func renderPage(name string, data pageData) ([]byte, error) {
	var b bytes.Buffer
	data.CSS = stylesheet
	if err := pageTemplates[name].ExecuteTemplate(&b, "layout.html", data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
