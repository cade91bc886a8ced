package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// ErrConfig marks a configuration the server cannot start with (cmd maps it to
// exit 2): a short JWT secret, a bootstrap admin that fails the policy or whose
// email belongs to an existing user.
var ErrConfig = errors.New("invalid configuration")

// ErrPasswordPolicy is wrapped by every CheckPasswordPolicy failure.
var ErrPasswordPolicy = errors.New("password does not meet the policy")

const (
	jwtIssuer    = "pulso"
	typAccess    = "access"
	jwtLeeway    = 30 * time.Second
	minSecretLen = 32
	// principalTTL bounds how long a deactivation or role change can go unseen (api.md §1).
	principalTTL = 60 * time.Second
	// maxCachedPrincipals bounds the user cache; expired entries are swept when it fills.
	maxCachedPrincipals = 10000
	// maxLoginLimiters bounds the per-IP limiter map; idle entries go first.
	maxLoginLimiters = 10000
)

// Principal is the authenticated user of a request.
type Principal struct {
	UserID      string
	Email       string
	Role        string
	Permissions []string
}

// authenticator issues and checks tokens and runs logins.
type authenticator struct {
	s      *Server
	users  *postgres.Users
	secret []byte
	parser *jwt.Parser
	// dummyHash is compared against for unknown emails so every login pays for bcrypt.
	dummyHash func() []byte
	// dummyCompares counts those comparisons (tests check the path runs).
	dummyCompares atomic.Int64
	limiter       *ipLimiter

	// verified remembers tokens whose signature and claims were checked, with
	// their subject and expiry: a dashboard sends the same token many times a minute
	// and the check (base64, JSON, HMAC) costs more than serving a cached answer.
	// Expiry is still checked on every use, and the user's state below.
	verified *lru.Cache[string, verifiedToken]

	// principals caches each user's current state for principalTTL (tests shorten
	// it); a nil principal means the user may not sign in.
	principalTTL time.Duration
	mu           sync.Mutex
	principals   map[string]cachedPrincipal
}

type verifiedToken struct {
	subject string
	expires time.Time
}

// maxVerifiedTokens bounds the verified-token memory (about 400 bytes each).
const maxVerifiedTokens = 10000

type cachedPrincipal struct {
	p     *Principal
	until time.Time
}

// accessClaims are the access token's claims (api.md §1).
type accessClaims struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	Typ   string `json:"typ"`
	jwt.RegisteredClaims
}

func newAuthenticator(s *Server) (*authenticator, error) {
	cfg := s.cfg
	secret := []byte(cfg.JWTSecret)
	switch {
	case len(secret) >= minSecretLen:
	case cfg.Development && len(secret) == 0:
		secret = make([]byte, minSecretLen)
		_, _ = rand.Read(secret)
		s.log.Warn("PULSO_JWT_SECRET is unset: using a random secret; tokens will not survive a restart")
	case cfg.Development:
	default:
		return nil, fmt.Errorf("%w: PULSO_JWT_SECRET must be at least %d bytes", ErrConfig, minSecretLen)
	}
	if cfg.BcryptCost < bcrypt.MinCost || cfg.BcryptCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("%w: PULSO_BCRYPT_COST must be %d to %d", ErrConfig, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if cfg.LoginPerMinute < 1 || cfg.LoginMaxFailures < 1 {
		return nil, fmt.Errorf("%w: PULSO_LOGIN_RATE and PULSO_LOGIN_MAX_FAILURES must be positive", ErrConfig)
	}
	verified, err := lru.New[string, verifiedToken](maxVerifiedTokens)
	if err != nil {
		return nil, err
	}
	a := &authenticator{
		s:        s,
		verified: verified,
		users:    postgres.NewUsers(s.pool),
		secret:   secret,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithLeeway(jwtLeeway), jwt.WithIssuer(jwtIssuer), jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(), jwt.WithTimeFunc(s.now)),
		limiter:      newIPLimiter(cfg.LoginPerMinute),
		principalTTL: principalTTL,
		principals:   map[string]cachedPrincipal{},
	}
	// Made on first use: at cost 12 it takes a quarter second, which servers that
	// never see an unknown email need not pay at start.
	a.dummyHash = sync.OnceValue(func() []byte {
		h, err := bcrypt.GenerateFromPassword([]byte(uuid.NewString()), cfg.BcryptCost)
		if err != nil {
			panic(err) // only a cost out of range, checked above
		}
		return h
	})
	return a, nil
}

// authRoutes are api.md §1's endpoints.
func (s *Server) authRoutes() []route {
	return []route{
		{method: http.MethodPost, path: apiV1 + "/auth/login", public: true, handler: s.login},
		{method: http.MethodPost, path: apiV1 + "/auth/refresh", public: true, handler: s.refresh},
		{method: http.MethodPost, path: apiV1 + "/auth/logout", handler: s.logout},
		{method: http.MethodGet, path: apiV1 + "/auth/me", handler: s.me},
	}
}

func errUnauthorized() *Error {
	e := NewError(http.StatusUnauthorized, CodeUnauthorized, "Authentication required")
	e.Header = http.Header{"Www-Authenticate": {"Bearer"}}
	return e
}

func errInvalidToken(msg string) *Error {
	e := NewError(http.StatusUnauthorized, CodeInvalidToken, msg)
	e.Header = http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}
	return e
}

func errTokenExpired() *Error {
	e := NewError(http.StatusUnauthorized, CodeTokenExpired, "The access token has expired")
	e.Header = http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}
	return e
}

// authenticate checks a bearer access token and returns the user as the database
// has it now (role and permissions from the current role, not the token).
func (a *authenticator) authenticate(ctx context.Context, authorizationHeader string) (*Principal, error) {
	scheme, raw, ok := strings.Cut(strings.TrimSpace(authorizationHeader), " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, errUnauthorized()
	}
	subject, err := a.verify(raw)
	if err != nil {
		return nil, err
	}
	p, err := a.principal(ctx, subject)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errInvalidToken("The user is inactive or no longer exists")
	}
	return p, nil
}

// verify checks an access token's signature and claims (or finds it checked
// before) and returns its subject.
func (a *authenticator) verify(raw string) (string, error) {
	if v, ok := a.verified.Get(raw); ok {
		if a.s.now().After(v.expires.Add(jwtLeeway)) {
			a.verified.Remove(raw)
			return "", errTokenExpired()
		}
		return v.subject, nil
	}
	var claims accessClaims
	_, err := a.parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.secret, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", errTokenExpired()
	case err != nil:
		return "", errInvalidToken("Invalid token")
	case claims.Typ != typAccess:
		return "", errInvalidToken("Invalid token")
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return "", errInvalidToken("Invalid token")
	}
	a.verified.Add(raw, verifiedToken{subject: claims.Subject, expires: claims.ExpiresAt.Time})
	return claims.Subject, nil
}

// principal is the user's current state, from the cache or the database.
func (a *authenticator) principal(ctx context.Context, userID string) (*Principal, error) {
	now := time.Now()
	a.mu.Lock()
	c, ok := a.principals[userID]
	a.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.p.clone(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.s.cfg.StatementTimeout)
	defer cancel()
	u, err := a.users.UserByID(ctx, userID)
	if err != nil && !errors.Is(err, postgres.ErrNotFound) {
		return nil, err
	}
	var p *Principal
	if err == nil && u.IsActive {
		p = &Principal{UserID: u.ID, Email: u.Email, Role: u.Role, Permissions: u.Permissions}
	}
	a.mu.Lock()
	if len(a.principals) >= maxCachedPrincipals {
		for id, e := range a.principals {
			if !now.Before(e.until) {
				delete(a.principals, id)
			}
		}
	}
	a.principals[userID] = cachedPrincipal{p: p, until: now.Add(a.principalTTL)}
	a.mu.Unlock()
	return p.clone(), nil
}

func (p *Principal) clone() *Principal {
	if p == nil {
		return nil
	}
	c := *p
	c.Permissions = append([]string(nil), p.Permissions...)
	return &c
}

// forget drops a user's cached state so a change (deactivation, role) applies at once.
func (a *authenticator) forget(userID string) {
	a.mu.Lock()
	delete(a.principals, userID)
	a.mu.Unlock()
}

// hashPassword is bcrypt at the configured cost.
func (a *authenticator) hashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), a.s.cfg.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// issueAccess signs an access token for u.
func (a *authenticator) issueAccess(u *postgres.User) (string, error) {
	now := a.s.now()
	claims := accessClaims{Email: u.Email, Role: u.Role, Typ: typAccess, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: jwtIssuer, Subject: u.ID, ID: uuid.NewString(),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(a.s.cfg.AccessTTL)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.secret)
}

// newRefreshToken is 32 random bytes, base64url, and the SHA-256 hex stored for it.
func newRefreshToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashRefreshToken(token)
}

func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CheckPasswordPolicy enforces api.md §1: 8–72 bytes (bcrypt reads no further) with
// an upper-case letter, a lower-case letter and a digit.
func CheckPasswordPolicy(p string) error {
	var missing []string
	if len(p) < 8 || len(p) > 72 {
		missing = append(missing, "8 to 72 bytes")
	}
	var upper, lower, digit bool
	for _, r := range p {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !upper {
		missing = append(missing, "an upper-case letter")
	}
	if !lower {
		missing = append(missing, "a lower-case letter")
	}
	if !digit {
		missing = append(missing, "a digit")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: it needs %s", ErrPasswordPolicy, strings.Join(missing, ", "))
	}
	return nil
}

// --- handlers ---

type authRoleBody struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// authUserBody is api.md §1's `user`.
type authUserBody struct {
	ID          string       `json:"id"`
	Email       string       `json:"email"`
	FirstName   string       `json:"first_name"`
	LastName    string       `json:"last_name"`
	FullName    string       `json:"full_name"`
	Role        authRoleBody `json:"role"`
	Permissions []string     `json:"permissions"`
}

func newAuthUserBody(u *postgres.User) authUserBody {
	perms := u.Permissions
	if perms == nil {
		perms = []string{}
	}
	return authUserBody{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		FullName: strings.TrimSpace(u.FirstName + " " + u.LastName),
		Role:     authRoleBody{Name: u.Role, DisplayName: u.RoleDisplayName}, Permissions: perms}
}

type meBody struct {
	authUserBody
	IsActive    bool       `json:"is_active"`
	IsVerified  bool       `json:"is_verified"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

type tokenBody struct {
	AccessToken  string        `json:"access_token"`
	RefreshToken string        `json:"refresh_token"`
	TokenType    string        `json:"token_type"`
	ExpiresIn    int64         `json:"expires_in"`
	User         *authUserBody `json:"user,omitempty"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// decodeAuthBody reads a JSON body into dst: an empty body is {}, unknown fields
// are ignored, a wrong type is a validation error naming the field.
func decodeAuthBody(c echo.Context, dst any) error {
	err := json.NewDecoder(c.Request().Body).Decode(dst)
	var typeErr *json.UnmarshalTypeError
	var httpErr *echo.HTTPError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &httpErr): // body limit
		return httpErr
	case errors.As(err, &typeErr):
		var v analytics.Errors
		if typeErr.Field == "" {
			v.Add("body", "must be a JSON object")
		} else {
			v.Add(typeErr.Field, "must be a %s", typeErr.Type.Kind())
		}
		return v.Err()
	}
	return NewError(http.StatusBadRequest, CodeBadRequest, "The body is not valid JSON")
}

func errLoginFailed() *Error {
	return NewError(http.StatusUnauthorized, CodeUnauthorized, "Invalid email or password")
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// login is POST /api/v1/auth/login. bcrypt runs on every well-formed attempt within the
// rate limit, so unknown, inactive and known users take the same time.
func (s *Server) login(c echo.Context) error {
	a := s.auth
	if ok, wait := a.limiter.allow(c.RealIP(), time.Now()); !ok {
		e := NewError(http.StatusTooManyRequests, CodeRateLimited, "Too many login attempts; try again later")
		e.Header = http.Header{"Retry-After": {retryAfterSeconds(wait)}}
		return e
	}
	var req loginRequest
	if err := decodeAuthBody(c, &req); err != nil {
		return err
	}
	req.Email = strings.TrimSpace(req.Email)
	var v analytics.Errors
	if req.Email == "" {
		v.Add("email", "is required")
	}
	if req.Password == "" {
		v.Add("password", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.StatementTimeout)
	defer cancel()
	u, err := a.users.UserByEmail(ctx, req.Email)
	if err != nil && !errors.Is(err, postgres.ErrNotFound) {
		return err
	}
	var hash []byte
	if u != nil {
		hash = []byte(u.PasswordHash)
	} else {
		hash = a.dummyHash()
		a.dummyCompares.Add(1)
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) == nil
	now := s.now()
	switch {
	case u == nil || !u.IsActive:
		return errLoginFailed()
	case u.LockedUntil != nil && u.LockedUntil.After(now):
		return errLocked(u.LockedUntil.Sub(now))
	case !match:
		st, err := a.users.RecordLoginFailure(ctx, u.ID, now, s.cfg.LoginMaxFailures, s.cfg.LockoutDuration)
		if err != nil {
			return err
		}
		if st.LockedUntil != nil && st.LockedUntil.After(now) {
			return errLocked(st.LockedUntil.Sub(now))
		}
		return errLoginFailed()
	}
	if err := a.users.RecordLoginSuccess(ctx, u.ID, now); err != nil {
		return err
	}
	access, err := a.issueAccess(u)
	if err != nil {
		return err
	}
	refresh, refreshHash := newRefreshToken()
	if err := a.users.CreateRefreshToken(ctx, u.ID, refreshHash, now, s.cfg.RefreshTTL); err != nil {
		return err
	}
	user := newAuthUserBody(u)
	return c.JSON(http.StatusOK, tokenBody{AccessToken: access, RefreshToken: refresh, TokenType: "bearer",
		ExpiresIn: int64(s.cfg.AccessTTL / time.Second), User: &user})
}

func errLocked(wait time.Duration) *Error {
	e := NewError(http.StatusLocked, CodeAccountLocked, "The account is locked after too many failed logins; try again later")
	e.Header = http.Header{"Retry-After": {retryAfterSeconds(wait)}}
	return e
}

// refresh is POST /api/v1/auth/refresh: rotation, with reuse revoking the family.
func (s *Server) refresh(c echo.Context) error {
	var req refreshRequest
	if err := decodeAuthBody(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		var v analytics.Errors
		v.Add("refresh_token", "is required")
		return v.Err()
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.StatementTimeout)
	defer cancel()
	next, nextHash := newRefreshToken()
	userID, err := s.auth.users.RotateRefreshToken(ctx, hashRefreshToken(req.RefreshToken), nextHash, s.now(), s.cfg.RefreshTTL)
	if errors.Is(err, postgres.ErrTokenInvalid) {
		return errInvalidToken("Invalid or expired refresh token")
	}
	if err != nil {
		return err
	}
	u, err := s.auth.users.UserByID(ctx, userID)
	if errors.Is(err, postgres.ErrNotFound) {
		return errInvalidToken("Invalid or expired refresh token")
	}
	if err != nil {
		return err
	}
	access, err := s.auth.issueAccess(u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenBody{AccessToken: access, RefreshToken: next, TokenType: "bearer",
		ExpiresIn: int64(s.cfg.AccessTTL / time.Second)})
}

// logout is POST /api/v1/auth/logout: one refresh token, or all of the user's.
// Access tokens stay valid until they expire (they are short-lived).
func (s *Server) logout(c echo.Context) error {
	var req refreshRequest
	if err := decodeAuthBody(c, &req); err != nil {
		return err
	}
	p := principal(c)
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.StatementTimeout)
	defer cancel()
	var err error
	if req.RefreshToken != "" {
		_, err = s.auth.users.RevokeRefreshToken(ctx, p.UserID, hashRefreshToken(req.RefreshToken), s.now())
	} else {
		_, err = s.auth.users.RevokeAllRefreshTokens(ctx, p.UserID, s.now())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message": "Logged out", "success": true})
}

// me is GET /api/v1/auth/me.
func (s *Server) me(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.StatementTimeout)
	defer cancel()
	u, err := s.auth.users.UserByID(ctx, principal(c).UserID)
	if errors.Is(err, postgres.ErrNotFound) || (err == nil && !u.IsActive) {
		return errInvalidToken("The user is inactive or no longer exists")
	}
	if err != nil {
		return err
	}
	var last *time.Time
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		last = &t
	}
	return c.JSON(http.StatusOK, meBody{authUserBody: newAuthUserBody(u), IsActive: u.IsActive,
		IsVerified: u.IsVerified, LastLoginAt: last, CreatedAt: u.CreatedAt.UTC()})
}

// bootstrapAdmin creates the first admin from PULSO_BOOTSTRAP_ADMIN_* when no active
// admin exists (api.md §1). It never changes or promotes an existing user.
func (s *Server) bootstrapAdmin(ctx context.Context) error {
	users := s.auth.users
	exists, err := users.ActiveAdminExists(ctx)
	if err != nil {
		return err
	}
	if exists {
		return nil
	}
	email := strings.ToLower(strings.TrimSpace(s.cfg.BootstrapAdminEmail))
	password := s.cfg.BootstrapAdminPassword
	switch {
	case email == "" && password == "":
		s.log.Warn("no active admin: set PULSO_BOOTSTRAP_ADMIN_EMAIL and PULSO_BOOTSTRAP_ADMIN_PASSWORD to create one")
		return nil
	case email == "" || password == "":
		return fmt.Errorf("%w: PULSO_BOOTSTRAP_ADMIN_EMAIL and PULSO_BOOTSTRAP_ADMIN_PASSWORD must be set together", ErrConfig)
	case !strings.Contains(email, "@") || len(email) > 254:
		return fmt.Errorf("%w: PULSO_BOOTSTRAP_ADMIN_EMAIL is not an email address", ErrConfig)
	}
	if err := CheckPasswordPolicy(password); err != nil {
		return fmt.Errorf("%w: PULSO_BOOTSTRAP_ADMIN_PASSWORD: %w", ErrConfig, err)
	}
	hash, err := s.auth.hashPassword(password)
	if err != nil {
		return err
	}
	// The environment carries no name; "Admin pulso" until the admin edits the profile.
	id, err := users.CreateBootstrapAdmin(ctx, postgres.NewAdmin{Email: email, PasswordHash: hash,
		FirstName: "Admin", LastName: "pulso"})
	switch {
	case errors.Is(err, postgres.ErrAdminExists): // another replica won the race
		return nil
	case errors.Is(err, postgres.ErrEmailInUse):
		return fmt.Errorf("%w: PULSO_BOOTSTRAP_ADMIN_EMAIL %s: %w; existing users are never promoted, choose another address or promote one through an admin",
			ErrConfig, email, err)
	case err != nil:
		return err
	}
	s.log.Info("bootstrap admin created", "user_id", id, "email", email)
	return nil
}

// --- login rate limit ---

// ipLimiter is a token bucket per client IP: perMinute requests a minute, bursting
// to perMinute.
type ipLimiter struct {
	mu        sync.Mutex
	perMinute int
	entries   map[string]*ipEntry
	lastSweep time.Time
}

type ipEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perMinute int) *ipLimiter {
	return &ipLimiter{perMinute: perMinute, entries: map[string]*ipEntry{}}
}

// allow takes a token for ip, or says how long until one is free.
func (l *ipLimiter) allow(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evict(now)
	e, ok := l.entries[ip]
	if !ok {
		e = &ipEntry{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)}
		l.entries[ip] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict drops entries idle for a minute (their bucket is full again, so forgetting
// them changes nothing) once a minute, and one arbitrary entry when a flood of
// addresses fills the map.
func (l *ipLimiter) evict(now time.Time) {
	if now.Sub(l.lastSweep) >= time.Minute {
		l.lastSweep = now
		for ip, e := range l.entries {
			if now.Sub(e.seen) >= time.Minute {
				delete(l.entries, ip)
			}
		}
	}
	for ip := range l.entries {
		if len(l.entries) < maxLoginLimiters {
			break
		}
		delete(l.entries, ip)
	}
}
