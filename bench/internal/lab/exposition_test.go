package lab

import "testing"

func TestLabelValue(t *testing.T) {
	for _, tc := range []struct{ labels, key, want string }{
		{`target="a"`, "target", "a"},
		{`hop="1",target="b\"c"`, "target", `b"c`},
		{`x="a\\",target="t"`, "target", "t"},
		{`x="line\nnext",target="t"`, "x", "line\nnext"},
	} {
		if got, ok := LabelValue(tc.labels, tc.key); !ok || got != tc.want {
			t.Errorf("LabelValue(%q, %q) = %q, %v; want %q", tc.labels, tc.key, got, ok, tc.want)
		}
	}
	if _, ok := LabelValue(`hop="1"`, "target"); ok {
		t.Error("LabelValue found a missing label")
	}
}
