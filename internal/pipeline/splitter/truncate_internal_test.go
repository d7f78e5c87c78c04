package splitter

import "testing"

// truncate keeps a string of at most n bytes whole and cuts a longer one
// at n bytes (never inside a rune), marking the cut.
func TestTruncate(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abcde", "abcde"},
		{"abcdef", "abcde..."},
		{"abcd\u00e9", "abcd..."}, // é is 2 bytes: cut inside it, it goes
		{"", ""},
	} {
		if got := truncate(c.in, 5); got != c.want {
			t.Errorf("truncate(%q, 5) = %q, want %q", c.in, got, c.want)
		}
	}
}
