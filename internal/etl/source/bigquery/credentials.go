package bigquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	bq "cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ErrCredentials marks a missing, unreadable or unusable credential: reported before
// any query runs.
var ErrCredentials = errors.New("bigquery credentials")

var scopes = []string{bq.Scope, "https://www.googleapis.com/auth/cloud-platform"}

// clientOptions resolves the credentials and endpoints of the REST and Storage Read
// clients. A credentials file must be readable JSON of a known type; without one,
// Application Default Credentials must be found. With an endpoint override and no
// credentials file (an emulator or a test server) nothing is authenticated.
func clientOptions(ctx context.Context, cfg Config) (rest, storage []option.ClientOption, err error) {
	var creds *auth.Credentials
	switch {
	case cfg.CredentialsFile != "":
		creds, err = credentialsFromFile(cfg.CredentialsFile)
		if err != nil {
			return nil, nil, err
		}
	case cfg.Endpoint != "":
		// Unauthenticated: an emulator or a test server.
	default:
		creds, err = credentials.DetectDefault(&credentials.DetectOptions{Scopes: scopes})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: no Application Default Credentials found (%v): set bigquery.credentials_file "+
				"to a service-account key, point GOOGLE_APPLICATION_CREDENTIALS at one, or run "+
				"`gcloud auth application-default login`", ErrCredentials, err)
		}
	}
	if creds != nil {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := creds.Token(tctx); err != nil {
			return nil, nil, fmt.Errorf("%w: cannot obtain an access token: %v", ErrCredentials, err)
		}
		rest = append(rest, option.WithAuthCredentials(creds))
		storage = append(storage, option.WithAuthCredentials(creds))
	} else {
		rest = append(rest, option.WithoutAuthentication())
		storage = append(storage, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	if cfg.Endpoint != "" {
		rest = append(rest, option.WithEndpoint(cfg.Endpoint))
	}
	if cfg.StorageEndpoint != "" {
		storage = append(storage, option.WithEndpoint(cfg.StorageEndpoint))
	}
	return rest, storage, nil
}

// credentialsFromFile reads a JSON credentials file (service account, authorized user,
// impersonated service account or external account).
func credentialsFromFile(path string) (*auth.Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: bigquery.credentials_file: %v", ErrCredentials, err)
	}
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%w: bigquery.credentials_file %s is not a JSON credentials file: %v", ErrCredentials, path, err)
	}
	typ := credentials.CredType(probe.Type)
	switch typ {
	case credentials.ServiceAccount, credentials.AuthorizedUser, credentials.ImpersonatedServiceAccount,
		credentials.ExternalAccount, credentials.ExternalAccountAuthorizedUser:
	default:
		return nil, fmt.Errorf("%w: bigquery.credentials_file %s: unsupported credentials type %q "+
			"(want service_account, authorized_user, impersonated_service_account or external_account)",
			ErrCredentials, path, probe.Type)
	}
	creds, err := credentials.NewCredentialsFromJSON(typ, b, &credentials.DetectOptions{Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("%w: bigquery.credentials_file %s: %v", ErrCredentials, path, err)
	}
	return creds, nil
}
