package main

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's configuration reference from the config struct")

const (
	refStart = "<!-- config-reference:start (pulso config --reference; go test ./cmd/pulso -run TestReadmeConfigReference -args -update-readme) -->\n"
	refEnd   = "<!-- config-reference:end -->"
)

// The reference covers exactly the keys the loader declares: every Config field has
// a default (so viper binds its variable) and a description, and no default lacks
// a field.
func TestConfigReferenceCoversEveryKey(t *testing.T) {
	reg := etl.MustRegistry()
	declared := map[string]bool{}
	for _, k := range referenceKeys() {
		declared[k] = true
	}
	var missing []string
	for k := range defaults(reg) {
		if strings.HasPrefix(k, "tables.") {
			parts := strings.Split(k, ".")
			k = "tables.<t>." + parts[len(parts)-1]
		}
		if !declared[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("defaults with no Config field: %v", missing)
	}
	if _, err := configReference(reg); err != nil {
		t.Error(err)
	}
	for k := range keyDocs {
		if !declared[k] {
			t.Errorf("keyDocs describes %s, which is no key", k)
		}
	}
}

// structKeys must see through squashed and nested structs and stop at text types.
func TestStructKeys(t *testing.T) {
	type inner struct {
		A int `mapstructure:"a"`
	}
	type squashed struct {
		B string `mapstructure:"b"`
	}
	type cfg struct {
		X        inner `mapstructure:"x"`
		squashed `mapstructure:",squash"`
		Day      etl.Date `mapstructure:"day"`
		Skip     []string `mapstructure:"-"`
	}
	got := structKeys(reflect.TypeFor[cfg](), "")
	if want := []string{"x.a", "b", "day"}; !slices.Equal(got, want) {
		t.Fatalf("structKeys = %v, want %v", got, want)
	}
}

// The README's reference is what `pulso config --reference` prints.
func TestReadmeConfigReference(t *testing.T) {
	var out bytes.Buffer
	if code := run(t.Context(), []string{"config", "--reference"}, &out, &out); code != 0 {
		t.Fatalf("config --reference: exit %d\n%s", code, out.String())
	}
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i, j := strings.Index(text, refStart), strings.Index(text, refEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q block", strings.TrimSpace(refStart), refEnd)
	}
	current := text[i+len(refStart) : j]
	if current == out.String() {
		return
	}
	if !*updateReadme {
		t.Fatalf("README.md's configuration reference is out of date: run go test ./cmd/pulso -run TestReadmeConfigReference -args -update-readme")
	}
	text = text[:i+len(refStart)] + out.String() + text[j:]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
