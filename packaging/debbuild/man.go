package debbuild

import (
	"fmt"
	"strings"
)

// CommandHelp is one subcommand's -h text.
type CommandHelp struct {
	Name string
	Text string
}

// Help is everything a binary says about its usage.
type Help struct {
	Top      string // `<binary> --help`
	Commands []CommandHelp
}

// ManPage is the content of a section-1 man page.
type ManPage struct {
	Name     string // budare-agent
	Summary  string // one line for NAME
	Intro    string // a paragraph for DESCRIPTION
	Version  string
	Date     string // yyyy-mm-dd
	Help     Help
	Files    [][2]string // path, what it is
	SeeAlso  []string
	Sections [][2]string // extra section title, paragraph text
}

// Roff renders the page. The help texts go in verbatim (no-fill) blocks so
// the page reads exactly like --help.
func (m ManPage) Roff() string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 %q %q %q\n", strings.ToUpper(m.Name), m.Date, "budare "+m.Version, "budare manual")
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", roffText(m.Name), roffText(m.Summary))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n.I command\n.RI [ flags ]\n", roffText(m.Name))
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(roffParagraph(m.Intro))
	b.WriteString(".PP\n")
	b.WriteString(verbatim(m.Help.Top))
	if len(m.Help.Commands) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, c := range m.Help.Commands {
			fmt.Fprintf(&b, ".SS %s\n", roffText(c.Name))
			b.WriteString(verbatim(c.Text))
		}
	}
	for _, s := range m.Sections {
		fmt.Fprintf(&b, ".SH %s\n", roffText(strings.ToUpper(s[0])))
		b.WriteString(roffParagraph(s[1]))
	}
	if len(m.Files) > 0 {
		b.WriteString(".SH FILES\n")
		for _, f := range m.Files {
			fmt.Fprintf(&b, ".TP\n.I %s\n%s", roffText(f[0]), roffParagraph(f[1]))
		}
	}
	if len(m.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		refs := make([]string, len(m.SeeAlso))
		for i, r := range m.SeeAlso {
			name, sec, ok := strings.Cut(strings.TrimSuffix(r, ")"), "(")
			if ok {
				refs[i] = fmt.Sprintf(".BR %s (%s)", roffText(name), sec)
			} else {
				refs[i] = ".B " + roffText(r)
			}
		}
		b.WriteString(strings.Join(refs, " ,\n") + "\n")
	}
	return b.String()
}

// roffText escapes a string for use inside a roff line: backslashes, and
// hyphens, which would otherwise print as typographic hyphens and break
// copy-and-paste of flags.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLine escapes a whole input line: a leading . or ' would make it a
// request, so \& guards it.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func roffParagraph(p string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(p), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			b.WriteString(".PP\n")
			continue
		}
		b.WriteString(roffLine(l) + "\n")
	}
	return b.String()
}

func verbatim(text string) string {
	var b strings.Builder
	b.WriteString(".nf\n")
	// Tabs expand to roff's own tab stops, not the terminal's; spaces keep
	// the columns of the flag package's output.
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		l = expandTabs(l, 8)
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(roffLine(l) + "\n")
	}
	b.WriteString(".fi\n")
	return b.String()
}

func expandTabs(s string, width int) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := width - col%width
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}
