package bigquery

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"

	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// retryReasons are the BigQuery error reasons worth another attempt.
var retryReasons = []string{"backendError", "rateLimitExceeded", "jobRateLimitExceeded", "internalError"}

// Retryable reports whether an error from the client (an API error, a failed job's
// status, a Storage Read gRPC status or a network fault) is worth retrying: rate
// limits, 5xx and the reasons backendError, rateLimitExceeded, jobRateLimitExceeded
// and internalError. Cancellation and deadlines are not.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch gerr.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		for _, e := range gerr.Errors {
			if slices.Contains(retryReasons, e.Reason) {
				return true
			}
		}
		return false
	}
	var berr *bq.Error
	if errors.As(err, &berr) {
		return slices.Contains(retryReasons, berr.Reason)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK && st.Code() != codes.Unknown {
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.Internal:
			return true
		}
		return false
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// backoff is exponential with equal jitter: attempt n (0-based) waits a random time in
// [d/2, d), d = min(max, initial·2ⁿ).
type backoff struct {
	initial, max time.Duration
}

func (b backoff) delay(attempt int) time.Duration {
	d := b.initial
	for i := 0; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for the attempt's delay or the context, whichever ends first.
func (b backoff) sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(b.delay(attempt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
