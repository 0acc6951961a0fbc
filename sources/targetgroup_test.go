package sources

import (
	"reflect"
	"testing"
)

func TestParseTargetGroups(t *testing.T) {
	want := []Group{
		{Targets: []string{"198.18.7.2", "web.example:443"}, Labels: map[string]string{"zone": "a"}},
		{Targets: []string{"[2001:db8::7]:8080"}},
	}
	j, err := ParseJSON([]byte(`[{"targets": ["198.18.7.2", "web.example:443"], "labels": {"zone": "a"}}, {"targets": ["[2001:db8::7]:8080"]}]`))
	if err != nil || !reflect.DeepEqual(j, want) {
		t.Fatalf("JSON: %+v %v", j, err)
	}
	y, err := ParseYAML([]byte("- targets: [198.18.7.2, 'web.example:443']\n  labels: {zone: a}\n- targets: ['[2001:db8::7]:8080']\n"))
	if err != nil || !reflect.DeepEqual(y, want) {
		t.Fatalf("YAML: %+v %v", y, err)
	}
	if gs, err := ParseYAML(nil); err != nil || len(gs) != 0 {
		t.Fatalf("empty YAML: %v %v", gs, err)
	}
	for name, bad := range map[string]func() error{
		"JSON unknown key":   func() error { _, err := ParseJSON([]byte(`[{"targetz": []}]`)); return err },
		"JSON not a list":    func() error { _, err := ParseJSON([]byte(`{"targets": []}`)); return err },
		"JSON trailing data": func() error { _, err := ParseJSON([]byte(`[] []`)); return err },
		"JSON label number":  func() error { _, err := ParseJSON([]byte(`[{"targets": [], "labels": {"a": 1}}]`)); return err },
		"YAML unknown key":   func() error { _, err := ParseYAML([]byte("- targetz: []\n")); return err },
		"YAML not a list":    func() error { _, err := ParseYAML([]byte("targets: []\n")); return err },
	} {
		if bad() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSplitTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		err  bool
	}{
		{"198.18.7.2", "198.18.7.2", 0, false},
		{"198.18.7.2:443", "198.18.7.2", 443, false},
		{"web.example", "web.example", 0, false},
		{"web.example:8080", "web.example", 8080, false},
		{"2001:db8::7", "2001:db8::7", 0, false},
		{"[2001:db8::7]", "2001:db8::7", 0, false},
		{"[2001:db8::7]:53", "2001:db8::7", 53, false},
		{"", "", 0, true},
		{"web.example:http", "", 0, true},
		{"web.example:0", "", 0, true},
		{"web.example:70000", "", 0, true},
		{":443", "", 0, true},
	} {
		host, port, err := SplitTarget(tc.in)
		if (err != nil) != tc.err || host != tc.host || port != tc.port {
			t.Errorf("%q: %q %d %v", tc.in, host, port, err)
		}
	}
}

func TestItems(t *testing.T) {
	l := map[string]string{"zone": "a"}
	items, err := Items([]Group{{Targets: []string{"198.18.7.2", "web.example:443"}, Labels: l}, {Targets: []string{"[2001:db8::7]:53"}}})
	want := []Item{{Host: "198.18.7.2", Labels: l}, {Host: "web.example", Port: 443, Labels: l}, {Host: "2001:db8::7", Port: 53}}
	if err != nil || !reflect.DeepEqual(items, want) {
		t.Fatalf("%+v %v", items, err)
	}
	if _, err := Items([]Group{{Targets: []string{"a"}}, {Targets: []string{"b", "c:x"}}}); err == nil || err.Error() != `group 1: targets[1]: "c:x": port "x" is not a number in 1..65535` {
		t.Fatalf("error %v", err)
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`[{"targets": ["198.18.7.2", "[2001:db8::7]:53"], "labels": {"zone": "a"}}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		gs, err := ParseJSON(b)
		if err != nil {
			return
		}
		items, err := Items(gs)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Host == "" || it.Port < 0 || it.Port > 65535 {
				t.Fatalf("item %+v from %q", it, b)
			}
		}
	})
}
