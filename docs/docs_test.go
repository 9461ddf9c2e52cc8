//go:build !wasip1

// Package docs holds the documentation pages and the test that keeps their
// examples honest: every JSON policy they show loads in the plugin's engine
// (or is refused, or warned about, as the text says), the README's policy
// is a file under testdata/, and every relative link and anchor resolves.
// The conventions are described in CONTRIBUTING.md, "The documentation test".
package docs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/corswasm/corswasm/filter"
)

// root is the repository root, relative to this package's directory.
const root = ".."

// pages lists the Markdown files the test reads, relative to the root.
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md found")
	}
	out := []string{"README.md", "CONTRIBUTING.md", "SECURITY.md", "BENCHMARKS.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

func read(t *testing.T, page string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(page)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A block is a fenced code block of a page.
type block struct {
	page   string
	line   int    // of the opening fence, 1-based
	lang   string // the info string's first word
	body   string // the lines between the fences, each with its newline
	before string // the nearest non-blank line before the opening fence
	after  string // the first non-blank line after the closing fence
}

// blocks returns the fenced blocks of a page: fences of three or more
// backticks at the start of a line, possibly indented (inside list items).
func blocks(page, text string) ([]block, error) {
	lines := strings.SplitAfter(text, "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(trimmed, "```") {
			continue
		}
		indent := len(lines[i]) - len(trimmed)
		lang, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), " ")
		b := block{page: page, line: i + 1, lang: lang}
		for k := i - 1; k >= 0; k-- {
			if s := strings.TrimSpace(lines[k]); s != "" {
				b.before = s
				break
			}
		}
		var body strings.Builder
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.HasPrefix(strings.TrimSpace(lines[j]), "```") {
				break
			}
			l := lines[j]
			if len(l)-len(strings.TrimLeft(l, " ")) >= indent {
				l = l[indent:]
			}
			body.WriteString(l)
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: code block never closed", page, i+1)
		}
		b.body = body.String()
		for k := j + 1; k < len(lines); k++ {
			if s := strings.TrimSpace(lines[k]); s != "" {
				b.after = s
				break
			}
		}
		out = append(out, b)
		i = j
	}
	return out, nil
}

var (
	refusedLine = regexp.MustCompile("^Refused: `(.+)`$")
	warnsLine   = regexp.MustCompile("^Warns: `(.+)`$")
	fileLine    = regexp.MustCompile(`^<!-- file: (\S+) -->$`)
)

// TestPolicies parses every ```json block of the pages with the plugin's
// engine: it must load without warnings, or be refused or warned about as
// the line after the block says.
func TestPolicies(t *testing.T) {
	n := 0
	for _, page := range pages(t) {
		bs, err := blocks(page, read(t, page))
		if err != nil {
			t.Error(err)
			continue
		}
		for _, b := range bs {
			if b.lang != "json" {
				continue
			}
			n++
			checkPolicy(t, b)
		}
	}
	if n == 0 {
		t.Error("no ```json policy found in the pages")
	}
}

func checkPolicy(t *testing.T, b block) {
	t.Helper()
	where := fmt.Sprintf("%s:%d", b.page, b.line)
	cfg, err := filter.Parse([]byte(b.body))
	if m := refusedLine.FindStringSubmatch(b.after); m != nil {
		switch {
		case err == nil:
			t.Errorf("%s: the text says this policy is refused (%q), but it loads", where, m[1])
		case !strings.Contains(err.Error(), m[1]):
			t.Errorf("%s: refused with\n\t%v\nwhich does not contain what the text quotes:\n\t%s", where, err, m[1])
		}
		return
	}
	if err != nil {
		t.Errorf("%s: the policy is refused: %v\n\t(if the page means it, follow the block with a line Refused: `<part of the error>`; if it is not a policy, tag the block jsonc)", where, err)
		return
	}
	var warnings []string
	for _, w := range cfg.Warnings() {
		warnings = append(warnings, w.String())
	}
	if m := warnsLine.FindStringSubmatch(b.after); m != nil {
		for _, w := range warnings {
			if strings.Contains(w, m[1]) {
				return
			}
		}
		t.Errorf("%s: the text says this policy warns %q; its warnings: %q", where, m[1], warnings)
		return
	}
	if len(warnings) > 0 {
		t.Errorf("%s: the policy loads with warnings the text does not announce (add a line Warns: `<part of the warning>`): %q", where, warnings)
	}
}

// TestFiles checks that a block announced by <!-- file: PATH --> is that
// file, byte for byte, and that the README shows the minimal policy so.
func TestFiles(t *testing.T) {
	readmeHasPolicyFile := false
	for _, page := range pages(t) {
		bs, err := blocks(page, read(t, page))
		if err != nil {
			t.Error(err)
			continue
		}
		for _, b := range bs {
			m := fileLine.FindStringSubmatch(b.before)
			if m == nil {
				continue
			}
			where := fmt.Sprintf("%s:%d", b.page, b.line)
			want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m[1])))
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if !bytes.Equal([]byte(b.body), want) {
				t.Errorf("%s: the block differs from %s:\n--- block\n%s--- %s\n%s", where, m[1], b.body, m[1], want)
			}
			if page == "README.md" && b.lang == "json" && strings.HasPrefix(m[1], "testdata/") {
				readmeHasPolicyFile = true
			}
		}
	}
	if !readmeHasPolicyFile {
		t.Error("README.md shows no policy marked <!-- file: testdata/... --> before its ```json block")
	}
}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeSpan  = regexp.MustCompile("`[^`]*`")
	headingRE = regexp.MustCompile(`^#{1,6} (.+?)\s*#*$`)
)

// TestLinks checks that every relative link of the pages names a file or
// directory that exists, and that its anchor, if any, is a heading of the
// target page.
func TestLinks(t *testing.T) {
	anchorsOf := map[string]map[string]bool{}
	anchors := func(page string) map[string]bool {
		if a, ok := anchorsOf[page]; ok {
			return a
		}
		a := headingAnchors(read(t, page))
		anchorsOf[page] = a
		return a
	}
	n := 0
	for _, page := range pages(t) {
		for _, l := range links(read(t, page)) {
			if strings.Contains(l.target, "://") || strings.HasPrefix(l.target, "mailto:") {
				continue
			}
			n++
			where := fmt.Sprintf("%s:%d", page, l.line)
			path, anchor, _ := strings.Cut(l.target, "#")
			target := page
			if path != "" {
				target = filepath.ToSlash(filepath.Join(filepath.Dir(page), path))
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
					t.Errorf("%s: link %q: %s does not exist", where, l.target, target)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s: link %q: an anchor into a file that is not Markdown", where, l.target)
				continue
			}
			if !anchors(target)[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", where, l.target, target, anchor)
			}
		}
	}
	if n == 0 {
		t.Error("no relative links found")
	}
}

type link struct {
	line   int
	target string
}

// links returns the Markdown link targets of a text, outside code blocks
// and code spans.
func links(text string) []link {
	var out []link
	fence := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			out = append(out, link{line: i + 1, target: m[1]})
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives the headings of a page:
// the text lower-cased, code marks, punctuation and symbols other than '-'
// and '_' dropped, spaces turned into '-', and "-1", "-2", ... for repeats.
func headingAnchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fence := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := slugify(m[1])
		if k := seen[slug]; k > 0 {
			out[fmt.Sprintf("%s-%d", slug, k)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		case r > 127 && (unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || unicode.Is(unicode.Pc, r)):
			b.WriteRune(r) // GitHub keeps letters, marks and digits beyond ASCII
		}
	}
	return b.String()
}

// TestSlugify pins the anchor rule on headings of these pages.
func TestSlugify(t *testing.T) {
	for heading, want := range map[string]string{
		"Check a report-mode rollout: corsctl report":           "check-a-report-mode-rollout-corsctl-report",
		"Where the filter goes, and what happens when it fails": "where-the-filter-goes-and-what-happens-when-it-fails",
		"The manifests: `deploy/istio/`":                        "the-manifests-deployistio",
		"Move a mesh's CORS to the plugin":                      "move-a-meshs-cors-to-the-plugin",
		"The `debug` option":                                    "the-debug-option",
	} {
		if got := slugify(heading); got != want {
			t.Errorf("slugify(%q) = %q, want %q", heading, got, want)
		}
	}
}
