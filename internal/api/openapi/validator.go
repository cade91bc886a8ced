package openapi

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks requests and responses against the embedded document, so tests can
// hold any real exchange to the contract. It is safe for concurrent use.
//
// kin-openapi validates an OpenAPI 3.1 document's schemas as JSON Schema 2020-12
// (type arrays such as [string, "null"], const, unevaluatedProperties, propertyNames),
// and enforces the date and date-time formats.
type Validator struct {
	router  routers.Router
	options *openapi3filter.Options
	// noBody is options with ExcludeResponseBody, for media types kin-openapi has no
	// decoder for (text/html): their content type is checked, not their body.
	noBody *openapi3filter.Options
}

// NewValidator loads and validates the embedded document and builds its router.
func NewValidator() (*Validator, error) {
	doc, err := load(context.Background())
	if err != nil {
		return nil, err
	}
	// The only server is "/": match request paths as they are, whatever the host.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: build router: %w", err)
	}
	// kin-openapi checks date and date-time by default; uuid and email only when asked
	// (scoped to this document, not registered process-wide).
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	doc.SetStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	options := &openapi3filter.Options{
		// Authentication is the server's business; validation checks shapes only.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// A status the operation does not document is an error.
		IncludeResponseStatus: true,
		// Never write defaults into the caller's request.
		SkipSettingDefaults:     true,
		MultiError:              true,
		SchemaValidationOptions: doc.GetSchemaValidationOptions(),
	}
	// Short messages: the default one dumps the whole schema and value.
	options.WithCustomSchemaErrorFunc(shortSchemaError)
	noBody := *options
	noBody.ExcludeResponseBody = true
	return &Validator{router: router, options: options, noBody: &noBody}, nil
}

// load parses and validates the embedded document.
func load(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: invalid openapi.yaml: %w", err)
	}
	return doc, nil
}

// ValidateResponse checks one response (status, headers, body) to req against the
// operation the document declares for req's method and path (a trailing slash is
// ignored, as the API does). An undocumented route, method or status is an error. A 304
// must be documented, carry the declared required headers and have no body.
func (v *Validator) ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	req, route, params, err := v.findRoute(req)
	if err != nil {
		return err
	}
	if status == http.StatusNotModified {
		// kin-openapi skips 304 altogether; check what the document says of it here.
		return validateNotModified(route, header, body)
	}
	options := v.options
	if ct := header.Get("Content-Type"); ct != "" && len(body) != 0 {
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return fmt.Errorf("%s %s → %d: Content-Type %q: %w", req.Method, req.URL.Path, status, ct, err)
		}
		if openapi3filter.RegisteredBodyDecoder(mediaType) == nil {
			if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil && ref.Value.Content.Get(ct) == nil {
				return fmt.Errorf("%s %s → %d: undocumented Content-Type %q", req.Method, req.URL.Path, status, ct)
			}
			options = v.noBody
		}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    options,
		},
		Status:  status,
		Header:  header,
		Options: options,
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		return fmt.Errorf("%s %s → %d: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

// ValidateRequest checks req's path, query, headers and body against the document
// (authentication excepted). It reads and restores req.Body.
func (v *Validator) ValidateRequest(req *http.Request) error {
	routed, route, params, err := v.findRoute(req)
	if err != nil {
		return err
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    routed,
		PathParams: params,
		Route:      route,
		Options:    v.options,
	}
	err = openapi3filter.ValidateRequest(req.Context(), input)
	req.Body = routed.Body // kin-openapi leaves a re-readable body on the request it read
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// findRoute finds req's operation; a trailing slash is dropped first (the returned
// request is then a clone with the trimmed path).
func (v *Validator) findRoute(req *http.Request) (*http.Request, *routers.Route, map[string]string, error) {
	if p := req.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		req = req.Clone(req.Context())
		req.URL.Path = strings.TrimRight(p, "/")
		req.URL.RawPath = strings.TrimRight(req.URL.RawPath, "/")
		if req.URL.Path == "" {
			req.URL.Path = "/"
		}
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return req, route, params, nil
}

func validateNotModified(route *routers.Route, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s → 304", route.Method, route.Path)
	ref := route.Operation.Responses.Status(http.StatusNotModified)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s: status not documented", where)
	}
	if len(body) != 0 {
		return fmt.Errorf("%s: has a body (%d bytes)", where, len(body))
	}
	names := make([]string, 0, len(ref.Value.Headers))
	for name := range ref.Value.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		h := ref.Value.Headers[name].Value
		values := header.Values(name)
		if len(values) == 0 {
			if h.Required {
				errs = append(errs, fmt.Errorf("%s: header %q missing", where, name))
			}
			continue
		}
		if h.Schema == nil || h.Schema.Value == nil {
			continue
		}
		var value any = values[0]
		if h.Schema.Value.Type.Is(openapi3.TypeInteger) {
			n, err := strconv.ParseInt(values[0], 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: header %q: %w", where, name, err))
				continue
			}
			value = n
		}
		if err := h.Schema.Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
			errs = append(errs, fmt.Errorf("%s: header %q: %w", where, name, err))
		}
	}
	return errors.Join(errs...)
}

// shortSchemaError is a schema error's reason with where it happened, without the
// schema and value dumps of the default message.
func shortSchemaError(err *openapi3.SchemaError) string {
	if err.Origin != nil {
		return "" // the default: the origin's own message
	}
	msg := err.Reason
	if msg == "" {
		msg = "does not match the schema's " + err.SchemaField
	}
	if p := err.JSONPointer(); len(p) > 0 && !strings.Contains(msg, "at '") {
		msg = "at /" + strings.Join(p, "/") + ": " + msg
	}
	return msg
}
