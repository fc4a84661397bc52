//go:build unix

package testenv

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChromiumRunsScripts checks the harness's one promise: the DOM it
// returns is taken after the page's scripts and their fetches ran.
func TestChromiumRunsScripts(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><body><p id="x">before</p><script>
fetch('/data').then(r => r.text()).then(s => { document.getElementById('x').textContent = 'fetched ' + s; });
</script></body>`))
	})
	mux.HandleFunc("/data", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(200 * time.Millisecond) // a slow API must still be waited for
		_, _ = w.Write([]byte("42"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cr := NewChromium(t)
	cr.Timeout = 60 * time.Second
	shot := filepath.Join(t.TempDir(), "page.png")
	dom, err := cr.Render(context.Background(), srv.URL, shot)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, `<p id="x">fetched 42</p>`) {
		t.Errorf("DOM taken before the script ran:\n%s", dom)
	}
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG (%v)", err)
	}
}
