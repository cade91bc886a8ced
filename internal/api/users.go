package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// userRoles are the fixed roles a user may be given (api.md §1).
var userRoles = []string{"admin", "manager", "analyst", "viewer"}

const (
	maxNameLen      = 50
	maxEmailLen     = 254
	maxSearchLen    = 200
	maxBulkItems    = 100
	defaultPerPage  = 20
	maxPerPage      = 100
	defaultRecent   = 30
	maxRecentDays   = 365
	exportNoLogin   = "Nunca"
	exportYes       = "Sí"
	exportNo        = "No"
	usersBase       = apiV1 + "/users"
	msgUserNotFound = "User not found"
)

// userRoutes are the user administration routes (api.md §5). Echo's router tries
// static segments before :id whatever the order; the literal routes come first
// here as well, so reading the table says the same.
func (s *Server) userRoutes() []route {
	read := []string{PermUserRead}
	return []route{
		{method: http.MethodGet, path: usersBase + "/me/profile", handler: s.getProfile},
		{method: http.MethodPut, path: usersBase + "/me/profile", handler: s.updateProfile},
		{method: http.MethodGet, path: usersBase + "/statistics", perms: read, handler: s.userStatistics},
		{method: http.MethodGet, path: usersBase + "/recent", perms: read, handler: s.recentUsers},
		{method: http.MethodPost, path: usersBase + "/bulk-update", perms: []string{PermUserUpdate}, handler: s.bulkUpdateUsers},
		{method: http.MethodGet, path: usersBase + "/export", perms: []string{PermUserRead, PermReportsExport}, handler: s.exportUsers},
		{method: http.MethodGet, path: usersBase + "/roles", perms: read, handler: s.listRoles},
		{method: http.MethodGet, path: usersBase + "/roles/:role/users", perms: read, handler: s.usersOfRole},
		{method: http.MethodPost, path: usersBase, perms: []string{PermUserCreate}, handler: s.createUser},
		{method: http.MethodGet, path: usersBase, perms: read, handler: s.listUsers},
		{method: http.MethodGet, path: usersBase + "/:id", perms: read, handler: s.getUser},
		{method: http.MethodPut, path: usersBase + "/:id", perms: []string{PermUserUpdate}, handler: s.updateUser},
		{method: http.MethodDelete, path: usersBase + "/:id", perms: []string{PermUserDelete}, handler: s.deleteUser},
	}
}

// --- response shapes ---

// userResponse is api.md §5's UserResponse.
type userResponse struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	FirstName   string     `json:"first_name"`
	LastName    string     `json:"last_name"`
	Role        string     `json:"role"`
	IsActive    bool       `json:"is_active"`
	IsVerified  bool       `json:"is_verified"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func newUserResponse(u *postgres.User) userResponse {
	r := userResponse{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Role: u.Role,
		IsActive: u.IsActive, IsVerified: u.IsVerified, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		r.LastLoginAt = &t
	}
	return r
}

func newUserResponses(users []*postgres.User) []userResponse {
	out := make([]userResponse, len(users))
	for i, u := range users {
		out[i] = newUserResponse(u)
	}
	return out
}

type userListResponse struct {
	Users      []userResponse `json:"users"`
	Total      int64          `json:"total"`
	Page       int            `json:"page"`
	PerPage    int            `json:"per_page"`
	TotalPages int64          `json:"total_pages"`
}

type roleCountBody struct {
	Role  string `json:"role"`
	Count int64  `json:"count"`
}

type userStatisticsResponse struct {
	TotalUsers       int64           `json:"total_users"`
	VerifiedUsers    int64           `json:"verified_users"`
	ActiveLast30Days int64           `json:"active_last_30_days"`
	ActiveLast7Days  int64           `json:"active_last_7_days"`
	NewLast30Days    int64           `json:"new_last_30_days"`
	UsersByRole      []roleCountBody `json:"users_by_role"`
}

type recentUsersResponse struct {
	Days  int            `json:"days"`
	Users []userResponse `json:"users"`
}

type bulkError struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

type bulkUpdateResponse struct {
	Message        string      `json:"message"`
	UpdatedCount   int         `json:"updated_count"`
	TotalAttempted int         `json:"total_attempted"`
	Errors         []bulkError `json:"errors"`
}

// exportRow is one user of GET /users/export, Spanish-labelled for a spreadsheet.
type exportRow struct {
	ID            string `json:"ID"`
	Email         string `json:"Email"`
	Nombre        string `json:"Nombre"`
	Apellido      string `json:"Apellido"`
	NombreComplet string `json:"Nombre Completo"`
	Rol           string `json:"Rol"`
	Activo        string `json:"Activo"`
	Verificado    string `json:"Verificado"`
	UltimoLogin   string `json:"Último Login"`
	FechaCreacion string `json:"Fecha Creación"`
	UltimaActual  string `json:"Última Actualización"`
}

type exportResponse struct {
	Data            []exportRow `json:"data"`
	TotalRecords    int         `json:"total_records"`
	ExportTimestamp time.Time   `json:"export_timestamp"`
	ExportedBy      string      `json:"exported_by"`
}

type roleBody struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Permissions []string `json:"permissions"`
}

// --- request shapes ---

type createUserRequest struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Role      string `json:"role"`
}

// userPatchRequest is the partial update of PUT /users/{id} and of each bulk item;
// an absent (or null) field is left as it is.
type userPatchRequest struct {
	FirstName  *string `json:"first_name"`
	LastName   *string `json:"last_name"`
	Role       *string `json:"role"`
	IsActive   *bool   `json:"is_active"`
	IsVerified *bool   `json:"is_verified"`
}

type bulkItemRequest struct {
	ID string `json:"id"`
	userPatchRequest
}

type profileRequest struct {
	FirstName       *string `json:"first_name"`
	LastName        *string `json:"last_name"`
	Password        *string `json:"password"`
	CurrentPassword *string `json:"current_password"`
}

// --- validation ---

// readJSON reads the body into dst: empty is {}, unknown fields are ignored, a wrong
// type or bad syntax is a 400 naming the field; the body limit's error passes through.
func readJSON(c echo.Context, dst any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	var v analytics.Errors
	v.DecodeBody(body, dst)
	return v.Err()
}

// checkName trims a first or last name and checks its length (1–50 characters).
func checkName(v *analytics.Errors, field, name string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n < 1 || n > maxNameLen:
		v.Add(field, "must be 1 to %d characters", maxNameLen)
	case strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name):
		v.Add(field, "must not contain control characters")
	}
	return name
}

// checkRole lower-cases a role and checks it is one of the four.
func checkRole(v *analytics.Errors, field, role string) string {
	role = strings.ToLower(strings.TrimSpace(role))
	if !slices.Contains(userRoles, role) {
		v.Add(field, "must be one of %s", strings.Join(userRoles, ", "))
	}
	return role
}

// normaliseEmail trims and lower-cases an address and checks it is a bare address.
func normaliseEmail(v *analytics.Errors, field, email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	switch {
	case email == "":
		v.Add(field, "is required")
	case len(email) > maxEmailLen:
		v.Add(field, "must be at most %d bytes", maxEmailLen)
	case strings.ContainsFunc(email, unicode.IsControl):
		v.Add(field, "must be an email address")
	default:
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || a.Name != "" {
			v.Add(field, "must be an email address")
		}
	}
	return email
}

func checkPassword(v *analytics.Errors, field, password string) {
	if err := CheckPasswordPolicy(password); err != nil {
		msg := strings.TrimPrefix(err.Error(), ErrPasswordPolicy.Error()+": ")
		v.Add(field, "does not meet the password policy: %s", msg)
	}
}

// patch validates a partial update into the store's patch.
func (r userPatchRequest) patch(v *analytics.Errors) postgres.UserPatch {
	var p postgres.UserPatch
	if r.FirstName != nil {
		n := checkName(v, "first_name", *r.FirstName)
		p.FirstName = &n
	}
	if r.LastName != nil {
		n := checkName(v, "last_name", *r.LastName)
		p.LastName = &n
	}
	if r.Role != nil {
		role := checkRole(v, "role", *r.Role)
		p.Role = &role
	}
	p.IsActive, p.IsVerified = r.IsActive, r.IsVerified
	return p
}

// parseUserID is the :id parameter; a malformed one is a 400.
func parseUserID(c echo.Context) (string, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		var v analytics.Errors
		v.Add("id", "must be a UUID")
		return "", v.Err()
	}
	return id.String(), nil
}

// queryInt reads an integer query parameter in [lo, hi], def when absent.
func queryInt(v *analytics.Errors, c echo.Context, name string, def, lo, hi int) int {
	raw := c.QueryParam(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	switch {
	case err != nil:
		v.Add(name, "must be an integer")
	case n < lo || n > hi:
		if hi == math.MaxInt {
			v.Add(name, "must be at least %d", lo)
		} else {
			v.Add(name, "must be between %d and %d", lo, hi)
		}
	default:
		return n
	}
	return def
}

// userStoreError maps the user store's sentinels onto API errors.
func userStoreError(err error) error {
	switch {
	case errors.Is(err, postgres.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, msgUserNotFound)
	case errors.Is(err, postgres.ErrEmailInUse):
		return NewError(http.StatusConflict, CodeConflict, "The email is already in use")
	case errors.Is(err, postgres.ErrAdminOnly):
		return NewError(http.StatusForbidden, CodeForbidden, "Only an admin may grant, remove or edit the admin role")
	case errors.Is(err, postgres.ErrLastAdmin):
		return NewError(http.StatusConflict, CodeConflict, "The last active admin cannot be demoted, deactivated or deleted")
	case errors.Is(err, postgres.ErrUnknownRole):
		var v analytics.Errors
		v.Add("role", "must be one of %s", strings.Join(userRoles, ", "))
		return v.Err()
	}
	return err
}

// actor is the request's user as the author of a change.
func actor(c echo.Context) postgres.Actor {
	p := principal(c)
	return postgres.Actor{ID: p.UserID, IsAdmin: p.Role == postgres.RoleAdmin, RequestID: requestID(c)}
}

func (s *Server) dbContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), s.cfg.StatementTimeout)
}

// --- handlers ---

// createUser is POST /users.
func (s *Server) createUser(c echo.Context) error {
	var req createUserRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	var v analytics.Errors
	nu := postgres.NewUser{Email: normaliseEmail(&v, "email", req.Email)}
	if req.Password == "" {
		v.Add("password", "is required")
	} else {
		checkPassword(&v, "password", req.Password)
	}
	nu.FirstName = checkName(&v, "first_name", req.FirstName)
	nu.LastName = checkName(&v, "last_name", req.LastName)
	nu.Role = "viewer"
	if req.Role != "" {
		nu.Role = checkRole(&v, "role", req.Role)
	}
	if err := v.Err(); err != nil {
		return err
	}
	a := actor(c)
	if nu.Role == postgres.RoleAdmin && !a.IsAdmin { // before paying for bcrypt
		return userStoreError(postgres.ErrAdminOnly)
	}
	hash, err := s.auth.hashPassword(req.Password)
	if err != nil {
		return err
	}
	nu.PasswordHash = hash
	ctx, cancel := s.dbContext(c)
	defer cancel()
	u, err := s.auth.users.CreateUser(ctx, nu, a, s.now())
	if err != nil {
		return userStoreError(err)
	}
	return c.JSON(http.StatusCreated, newUserResponse(u))
}

// listUsers is GET /users.
func (s *Server) listUsers(c echo.Context) error {
	var v analytics.Errors
	var role string
	if raw := c.QueryParam("role"); raw != "" {
		role = checkRole(&v, "role", raw)
	}
	return s.serveUserList(c, &v, role)
}

// usersOfRole is GET /users/roles/{role}/users: the list restricted to one role.
func (s *Server) usersOfRole(c echo.Context) error {
	role := strings.ToLower(c.Param("role"))
	ctx, cancel := s.dbContext(c)
	defer cancel()
	if _, err := s.auth.users.RoleByName(ctx, role); errors.Is(err, postgres.ErrNotFound) {
		return NewError(http.StatusNotFound, CodeNotFound, "Role not found")
	} else if err != nil {
		return err
	}
	var v analytics.Errors
	return s.serveUserList(c, &v, role)
}

func (s *Server) serveUserList(c echo.Context, v *analytics.Errors, role string) error {
	page := queryInt(v, c, "page", 1, 1, math.MaxInt)
	perPage := queryInt(v, c, "per_page", defaultPerPage, 1, maxPerPage)
	search := strings.TrimSpace(c.QueryParam("search"))
	switch {
	case utf8.RuneCountInString(search) > maxSearchLen:
		v.Add("search", "must be at most %d characters", maxSearchLen)
	case strings.ContainsRune(search, 0) || !utf8.ValidString(search): // PostgreSQL text holds neither
		v.Add("search", "must be valid UTF-8 without NUL")
	}
	includeInactive := v.Bool("include_inactive", c.QueryParam("include_inactive"), false)
	if err := v.Err(); err != nil {
		return err
	}
	ctx, cancel := s.dbContext(c)
	defer cancel()
	users, total, err := s.auth.users.ListUsers(ctx, postgres.UserQuery{Role: role, Search: search,
		IncludeInactive: includeInactive, Limit: perPage, Offset: postgres.PageOffset(page, perPage)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userListResponse{Users: newUserResponses(users), Total: total, Page: page,
		PerPage: perPage, TotalPages: (total + int64(perPage) - 1) / int64(perPage)})
}

// getUser is GET /users/{id}.
func (s *Server) getUser(c echo.Context) error {
	id, err := parseUserID(c)
	if err != nil {
		return err
	}
	ctx, cancel := s.dbContext(c)
	defer cancel()
	u, err := s.auth.users.UserByID(ctx, id)
	if err != nil {
		return userStoreError(err)
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// updateUser is PUT /users/{id}.
func (s *Server) updateUser(c echo.Context) error {
	id, err := parseUserID(c)
	if err != nil {
		return err
	}
	var req userPatchRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	var v analytics.Errors
	p := req.patch(&v)
	if err := v.Err(); err != nil {
		return err
	}
	u, err := s.applyUserPatch(c, id, p, postgres.ActionUserUpdate)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// applyUserPatch changes one user and drops its cached principal, so a
// deactivation or a role change applies to its very next request.
func (s *Server) applyUserPatch(c echo.Context, id string, p postgres.UserPatch, action string) (*postgres.User, error) {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	u, err := s.auth.users.UpdateUser(ctx, id, p, action, actor(c), s.now())
	if err != nil {
		return nil, userStoreError(err)
	}
	s.auth.forget(u.ID)
	return u, nil
}

// deleteUser is DELETE /users/{id}: a soft delete; one's own account is a 400.
func (s *Server) deleteUser(c echo.Context) error {
	id, err := parseUserID(c)
	if err != nil {
		return err
	}
	if id == principal(c).UserID {
		return NewError(http.StatusBadRequest, CodeBadRequest, "You cannot delete your own account")
	}
	ctx, cancel := s.dbContext(c)
	defer cancel()
	if err := s.auth.users.DeleteUser(ctx, id, actor(c), s.now()); err != nil {
		return userStoreError(err)
	}
	s.auth.forget(id)
	return c.NoContent(http.StatusNoContent)
}

// getProfile is GET /users/me/profile.
func (s *Server) getProfile(c echo.Context) error {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	u, err := s.auth.users.UserByID(ctx, principal(c).UserID)
	if errors.Is(err, postgres.ErrNotFound) {
		return errInvalidToken("The user is inactive or no longer exists")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// updateProfile is PUT /users/me/profile: one's names and password. A new password
// needs the current one (wrong → 401) and revokes every refresh token of the user.
func (s *Server) updateProfile(c echo.Context) error {
	var req profileRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	var v analytics.Errors
	var p postgres.UserPatch
	if req.FirstName != nil {
		n := checkName(&v, "first_name", *req.FirstName)
		p.FirstName = &n
	}
	if req.LastName != nil {
		n := checkName(&v, "last_name", *req.LastName)
		p.LastName = &n
	}
	if req.Password != nil {
		checkPassword(&v, "password", *req.Password)
		if req.CurrentPassword == nil || *req.CurrentPassword == "" {
			v.Add("current_password", "is required to change the password")
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	id := principal(c).UserID
	if req.Password != nil {
		ctx, cancel := s.dbContext(c)
		u, err := s.auth.users.UserByID(ctx, id)
		cancel()
		if errors.Is(err, postgres.ErrNotFound) {
			return errInvalidToken("The user is inactive or no longer exists")
		}
		if err != nil {
			return err
		}
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(*req.CurrentPassword)) != nil {
			return NewError(http.StatusUnauthorized, CodeUnauthorized, "The current password is incorrect")
		}
		hash, err := s.auth.hashPassword(*req.Password)
		if err != nil {
			return err
		}
		p.PasswordHash = &hash
	}
	u, err := s.applyUserPatch(c, id, p, postgres.ActionUserProfileUpdate)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

// userStatistics is GET /users/statistics.
func (s *Server) userStatistics(c echo.Context) error {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	st, err := s.auth.users.Statistics(ctx, s.now())
	if err != nil {
		return err
	}
	byRole := make([]roleCountBody, len(st.ByRole))
	for i, r := range st.ByRole {
		byRole[i] = roleCountBody{Role: r.Role, Count: r.Count}
	}
	return c.JSON(http.StatusOK, userStatisticsResponse{TotalUsers: st.Total, VerifiedUsers: st.Verified,
		ActiveLast30Days: st.ActiveLast30, ActiveLast7Days: st.ActiveLast7, NewLast30Days: st.NewLast30,
		UsersByRole: byRole})
}

// recentUsers is GET /users/recent: live users created within `days` days.
func (s *Server) recentUsers(c echo.Context) error {
	var v analytics.Errors
	days := queryInt(&v, c, "days", defaultRecent, 1, maxRecentDays)
	if err := v.Err(); err != nil {
		return err
	}
	ctx, cancel := s.dbContext(c)
	defer cancel()
	users, err := s.auth.users.RecentUsers(ctx, s.now().Add(-time.Duration(days)*24*time.Hour))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recentUsersResponse{Days: days, Users: newUserResponses(users)})
}

// bulkUpdateUsers is POST /users/bulk-update: each item is validated and applied on
// its own (its own transaction, the rules of PUT /users/{id}), so a bad item does
// not stop the others; client errors are listed, a server error ends the request.
func (s *Server) bulkUpdateUsers(c echo.Context) error {
	var items []json.RawMessage
	if err := readJSON(c, &items); err != nil {
		return err
	}
	if items == nil || len(items) > maxBulkItems {
		var v analytics.Errors
		v.Add("body", "must be an array of at most %d updates", maxBulkItems)
		return v.Err()
	}
	out := bulkUpdateResponse{TotalAttempted: len(items), Errors: []bulkError{}}
	for _, raw := range items {
		id, err := s.bulkUpdateOne(c, raw)
		if err == nil {
			out.UpdatedCount++
			continue
		}
		apiErr, serverSide := toAPIError(err)
		if serverSide {
			return err
		}
		out.Errors = append(out.Errors, bulkError{ID: id, Message: bulkMessage(apiErr)})
	}
	out.Message = fmt.Sprintf("Updated %d of %d users", out.UpdatedCount, out.TotalAttempted)
	return c.JSON(http.StatusOK, out)
}

// bulkUpdateOne applies one item and returns its id as sent ("" when it has none).
func (s *Server) bulkUpdateOne(c echo.Context, raw json.RawMessage) (string, error) {
	var probe struct {
		ID any `json:"id"`
	}
	_ = json.Unmarshal(raw, &probe)
	id, _ := probe.ID.(string)
	var item bulkItemRequest
	var v analytics.Errors
	if !v.DecodeBody(raw, &item) {
		return id, v.Err()
	}
	if string(raw) == "null" || strings.TrimSpace(string(raw)) == "" {
		v.Add("body", "each item must be an object")
		return id, v.Err()
	}
	uid, err := uuid.Parse(item.ID)
	switch {
	case item.ID == "":
		v.Add("id", "is required")
	case err != nil:
		v.Add("id", "must be a UUID")
	}
	p := item.patch(&v)
	if err := v.Err(); err != nil {
		return id, err
	}
	_, err = s.applyUserPatch(c, uid.String(), p, postgres.ActionUserBulkUpdate)
	return id, err
}

// bulkMessage is an item's error as one line: the message, and each invalid field.
func bulkMessage(e *Error) string {
	if len(e.Details) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = d.Field + ": " + d.Message
	}
	return strings.Join(parts, "; ")
}

// exportUsers is GET /users/export: every live user, Spanish-labelled.
func (s *Server) exportUsers(c echo.Context) error {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	users, err := s.auth.users.ExportUsers(ctx)
	if err != nil {
		return err
	}
	yesNo := func(b bool) string {
		if b {
			return exportYes
		}
		return exportNo
	}
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	rows := make([]exportRow, len(users))
	for i, u := range users {
		last := exportNoLogin
		if u.LastLoginAt != nil {
			last = stamp(*u.LastLoginAt)
		}
		rows[i] = exportRow{ID: u.ID, Email: u.Email, Nombre: u.FirstName, Apellido: u.LastName,
			NombreComplet: strings.TrimSpace(u.FirstName + " " + u.LastName), Rol: u.RoleDisplayName,
			Activo: yesNo(u.IsActive), Verificado: yesNo(u.IsVerified), UltimoLogin: last,
			FechaCreacion: stamp(u.CreatedAt), UltimaActual: stamp(u.UpdatedAt)}
	}
	return c.JSON(http.StatusOK, exportResponse{Data: rows, TotalRecords: len(rows),
		ExportTimestamp: s.now().UTC(), ExportedBy: principal(c).Email})
}

// listRoles is GET /users/roles.
func (s *Server) listRoles(c echo.Context) error {
	ctx, cancel := s.dbContext(c)
	defer cancel()
	roles, err := s.auth.users.Roles(ctx)
	if err != nil {
		return err
	}
	out := make([]roleBody, len(roles))
	for i, r := range roles {
		perms := r.Permissions
		if perms == nil {
			perms = []string{}
		}
		out[i] = roleBody{Name: r.Name, DisplayName: r.DisplayName, Permissions: perms}
	}
	return c.JSON(http.StatusOK, out)
}
