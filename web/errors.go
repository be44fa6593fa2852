package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"ducha/store"
	"ducha/workflow"
)

// webError is an error the handlers raise themselves, with its status.
type webError struct {
	Status int
	Msg    string
}

func (e *webError) Error() string { return e.Msg }

var (
	errUnauthenticated = &webError{http.StatusUnauthorized, "请先登录 (API 请使用 Authorization: Bearer 令牌)"}
	errCSRF            = &webError{http.StatusForbidden, "表单已过期或来源不明 (CSRF 校验失败), 请刷新页面后重试"}
	errRole            = &webError{http.StatusForbidden, "您的角色无权访问此页面"}
	errScope           = &webError{http.StatusNotFound, "未找到, 或不在您的职责范围内"}
)

// inputError is a bad field in a form or a JSON body.
type inputError struct{ Field, Msg string }

func (e *inputError) Error() string { return e.Field + ": " + e.Msg }

// badInput is what the domain's bad-input errors have in common.
type badInput interface{ BadInput() bool }

// status maps an error to its HTTP status: the one table of error kinds.
func status(err error) int {
	var (
		we   *webError
		ie   *inputError
		ill  *workflow.IllegalTransitionError
		forb *workflow.ForbiddenError
		bi   badInput
		mbe  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &we):
		return we.Status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, workflow.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &forb):
		return http.StatusForbidden
	case errors.Is(err, workflow.ErrConflict), errors.As(err, &ill), errors.Is(err, workflow.ErrRoundClosed):
		return http.StatusConflict
	case errors.As(err, &ie):
		return http.StatusBadRequest
	case errors.As(err, &bi) && bi.BadInput():
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// message is what the user reads: the error itself for known kinds, a
// generic sentence for server errors (whose detail goes to the log).
func message(err error, code int) string {
	var mbe *http.MaxBytesError
	switch {
	case code == http.StatusInternalServerError:
		return "服务器内部错误, 请稍后再试; 如果问题持续, 请联系管理员"
	case errors.As(err, &mbe):
		return "上传内容过大"
	}
	return err.Error()
}

// fail answers a request with its error: JSON for the API, a page otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	code := status(err)
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	msg := message(err, code)
	if c.API {
		writeJSON(w, code, map[string]any{"error": msg, "status": code})
		return
	}
	s.render(w, r, code, "error", c, "出错了", errorView{Status: code, Msg: msg})
}

type errorView struct {
	Status int
	Msg    string
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Compile-time check that store errors keep their bad-input marker.
var _ badInput = store.DuplicateActivityError{}
