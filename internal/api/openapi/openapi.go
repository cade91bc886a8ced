// Package openapi holds the OpenAPI 3.1 document of the pulso API (openapi.yaml, the
// contract of api.md), serves it as JSON and through an embedded Swagger UI, and checks
// real requests and responses against it in tests.
package openapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed openapi.yaml
var specYAML []byte

// uiFiles holds the vendored Swagger UI (see swagger-ui/README.md) and our own page.
//
//go:embed docs/index.html docs/swagger-init.js
//go:embed swagger-ui/swagger-ui.css swagger-ui/swagger-ui-bundle.js swagger-ui/favicon-32x32.png
var uiFiles embed.FS

var specJSON struct {
	once sync.Once
	data []byte
	err  error
}

// JSON returns the document converted to JSON (converted once, then cached; each call
// returns its own copy). Mapping keys become JSON strings (response codes included) and
// the document's key order is kept, so Swagger UI lists paths as the YAML does.
func JSON() ([]byte, error) {
	specJSON.once.Do(func() {
		specJSON.data, specJSON.err = yamlToJSON(specYAML)
	})
	if specJSON.err != nil {
		return nil, specJSON.err
	}
	return bytes.Clone(specJSON.data), nil
}

// yamlToJSON converts one YAML document to compact JSON through yaml.Node, which keeps
// key order and lets scalars keep their YAML meaning: a date-like `2025-07-01` or a key
// `200` stays a string, `true` a boolean, `1.5` a number.
func yamlToJSON(src []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("openapi: parse openapi.yaml: %w", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root, 0); err != nil {
		return nil, fmt.Errorf("openapi: convert openapi.yaml to JSON: %w", err)
	}
	if !json.Valid(buf.Bytes()) {
		return nil, errors.New("openapi: convert openapi.yaml to JSON: invalid result")
	}
	return buf.Bytes(), nil
}

// maxDepth bounds the recursion (and alias expansion) of writeJSON.
const maxDepth = 100

func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return errors.New("nesting too deep")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document, got %d nodes", n.Line, len(n.Content))
		}
		return writeJSON(buf, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			if k.ShortTag() == "!!merge" {
				return fmt.Errorf("line %d: merge keys are not supported", k.Line)
			}
			if seen[k.Value] {
				return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k.Value)
			buf.WriteByte(':')
			if err := writeJSON(buf, v, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return writeScalar(buf, n)
	default:
		return fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
	}
}

func writeScalar(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		fmt.Fprint(buf, b)
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		fmt.Fprint(buf, i)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("line %d: %s has no JSON form", n.Line, n.Value)
		}
		b, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
	default: // !!str, !!timestamp (kept as written), !!binary
		writeString(buf, n.Value)
	}
	return nil
}

func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// SwaggerUI serves the Swagger UI page at /docs (and /docs/) and its assets at
// /docs/<name>, all embedded: the page loads /api/v1/openapi.json and nothing from any
// other host. Mount it on GET /docs and GET /docs/* (HEAD works too); other paths and
// methods get the API's JSON error shape.
func SwaggerUI() http.Handler {
	return swaggerUI{}
}

type uiAsset struct {
	file        string
	contentType string
}

var uiAssets = map[string]uiAsset{
	"":                     {"docs/index.html", "text/html; charset=utf-8"},
	"index.html":           {"docs/index.html", "text/html; charset=utf-8"},
	"swagger-init.js":      {"docs/swagger-init.js", "text/javascript; charset=utf-8"},
	"swagger-ui.css":       {"swagger-ui/swagger-ui.css", "text/css; charset=utf-8"},
	"swagger-ui-bundle.js": {"swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
	"favicon-32x32.png":    {"swagger-ui/favicon-32x32.png", "image/png"},
}

type swaggerUI struct{}

func (swaggerUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, r, http.StatusMethodNotAllowed, "bad_request", "Method not allowed")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/docs")
	if !ok || (rest != "" && rest[0] != '/') {
		writeError(w, r, http.StatusNotFound, "not_found", "Not found")
		return
	}
	asset, ok := uiAssets[strings.TrimPrefix(rest, "/")]
	if !ok {
		writeError(w, r, http.StatusNotFound, "not_found", "Not found")
		return
	}
	data, err := fs.ReadFile(uiFiles, asset.file)
	if err != nil { // cannot happen: every asset is embedded
		writeError(w, r, http.StatusInternalServerError, "internal", "Internal error")
		return
	}
	h := w.Header()
	h.Set("Content-Type", asset.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", uiETag(asset.file, data))
	http.ServeContent(w, r, asset.file, time.Time{}, bytes.NewReader(data))
}

var uiETags sync.Map // file → strong ETag of its embedded content

func uiETag(file string, data []byte) string {
	if v, ok := uiETags.Load(file); ok {
		return v.(string)
	}
	sum := sha256.Sum256(data)
	tag := `"` + hex.EncodeToString(sum[:12]) + `"`
	uiETags.Store(file, tag)
	return tag
}

// writeError answers with the API's error shape. The request id is the one the
// request-id middleware already put on the response (or the caller's, or "-").
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	id := w.Header().Get("X-Request-ID")
	if id == "" {
		id = r.Header.Get("X-Request-ID")
	}
	if id == "" || !validRequestID(id) {
		id = "-"
	}
	body, _ := json.Marshal(map[string]string{
		"status": "error", "message": message, "code": code, "requestId": id,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func validRequestID(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
