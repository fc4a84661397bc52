package debbuild

import (
	"os/exec"
	"strings"
	"testing"
)

func TestRoffEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"--config FILE", `\-\-config FILE`},
		{`C:\path`, `C:\epath`},
		{".starts with a dot", `\&.starts with a dot`},
		{"'starts with a quote", `\&'starts with a quote`},
		{"plain", "plain"},
	}
	for _, tc := range tests {
		if got := roffLine(tc.in); got != tc.want {
			t.Errorf("roffLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := expandTabs("a\tb\t\tc", 8); got != "a       b               c" {
		t.Errorf("expandTabs = %q", got)
	}
}

func TestListCommands(t *testing.T) {
	help := "usage: x <command>\n\ncommands:\n  run     go\n  check-config  check\n\tinspect look\n\nRun 'x <command> -h'.\n"
	got := strings.Join(listCommands(help), ",")
	if got != "run,check-config,inspect" {
		t.Errorf("listCommands = %q", got)
	}
}

// TestManPageRenders feeds a page through groff as man(1) would, with
// warnings on, so a roff mistake fails here and not on a user's terminal.
func TestManPageRenders(t *testing.T) {
	page := ManPage{
		Name: "budare-test", Summary: "a test page", Intro: "First paragraph.\n\nSecond -- with .dots",
		Version: "1.2.3", Date: "2026-11-26",
		Help:     Help{Top: "usage: budare-test <command>\n\n.hidden\ttab\n", Commands: []CommandHelp{{"run", "  -config string\n\tconfig file\n"}}},
		Files:    [][2]string{{"/etc/budare/x.toml", "configuration"}},
		SeeAlso:  []string{"systemd.exec(5)", "budare"},
		Sections: [][2]string{{"Credentials", "mqtt-password"}},
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page.Roff())
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("groff: %v\n%s\n%s", err, out, page.Roff())
	}
	cmd = exec.Command("groff", "-man", "-Tascii", "-P-cbou")
	cmd.Stdin = strings.NewReader(page.Roff())
	text, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".hidden tab", "-config string", "mqtt-password", "/etc/budare/x.toml", "systemd.exec(5)"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("rendered page lacks %q:\n%s", want, text)
		}
	}
}
