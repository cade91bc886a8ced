package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd probes the API from inside its own container: the distroless
// image has no shell and no curl, so Docker's HEALTHCHECK runs the binary itself. It
// reads only http.addr from the configuration and opens nothing else.
func newHealthcheckCmd(a *app) *cobra.Command {
	var (
		ready   bool
		target  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Probe the running API's /health (or /health/ready); exit 0 on HTTP 200, 1 otherwise",
		Long: `GET http://127.0.0.1:<port of http.addr>/health (liveness), or /health/ready with
--ready (PostgreSQL and migrations), and exit 0 on HTTP 200. Anything else exits 1
with one line on stderr naming the URL and the status or the error. Needs no
database: this is the container's HEALTHCHECK.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usageErr(fmt.Errorf("--timeout %s: want > 0", timeout))
			}
			if target != "" && ready {
				return usageErr(errors.New("--url and --ready exclude each other: put the path in --url"))
			}
			if target == "" {
				u, err := healthURL(a.cfg.HTTP.Addr, ready)
				if err != nil {
					return err
				}
				target = u
			}
			return probeHealth(cmd.Context(), target, timeout)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&ready, "ready", false, "probe readiness (/health/ready) instead of liveness (/health)")
	f.StringVar(&target, "url", "", "probe this URL instead of http.addr's")
	f.DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// healthURL is the probe URL of the API listening on addr (http.addr). A wildcard
// or empty host listens on every interface, loopback included: the probe goes there.
func healthURL(addr string, ready bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("%w: http.addr %q: want host:port or :port", errConfig, addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	path := "/health"
	if ready {
		path = "/health/ready"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: path}).String(), nil
}

// probeHealth fails unless target answers 200, in one line: the URL and the status
// with the start of the body (readiness names the failing check), or why no answer.
func probeHealth(ctx context.Context, target string, timeout time.Duration) error {
	client := &http.Client{
		Timeout: timeout,
		// a health endpoint that redirects is not answering 200
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usageErr(fmt.Errorf("--url %q: %v", target, err))
	}
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // it would repeat the method and the URL
		}
		return fmt.Errorf("healthcheck %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	return fmt.Errorf("healthcheck %s: %s", target,
		strings.Join(append([]string{resp.Status}, strings.Fields(string(body))...), " "))
}
