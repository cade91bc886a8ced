package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

type freshnessTable struct {
	Table         string     `json:"table"`
	Mode          string     `json:"mode"`
	HighWaterMark *time.Time `json:"highWaterMark"`
	LastSuccessAt *time.Time `json:"lastSuccessAt"`
	LastRunID     *int64     `json:"lastRunId"`
	LastStatus    *string    `json:"lastStatus"`
	AgeSeconds    *int64     `json:"ageSeconds"`
	Stale         bool       `json:"stale"`
}

type freshnessTransform struct {
	RunID      int64      `json:"runId"`
	Status     string     `json:"status"`
	FinishedAt *time.Time `json:"finishedAt"`
}

type freshnessResponse struct {
	DataVersion          int64               `json:"dataVersion"`
	DataVersionUpdatedAt time.Time           `json:"dataVersionUpdatedAt"`
	LastTransform        *freshnessTransform `json:"lastTransform"`
	Tables               []freshnessTable    `json:"tables"`
}

// freshness is GET /api/v1/freshness: how current every source table and the marts are.
func (s *Server) freshness(c echo.Context) error {
	if !s.pgUp.Load() {
		return errUnavailable
	}
	st, err := s.readStatusOf(c.Request().Context(), s.tables)
	if err != nil {
		return err
	}
	out := freshnessResponse{DataVersion: st.DataVersion.Version, DataVersionUpdatedAt: st.DataVersion.UpdatedAt.UTC(),
		Tables: make([]freshnessTable, len(st.Tables))}
	if lt := st.LastTransform; lt != nil {
		out.LastTransform = &freshnessTransform{RunID: lt.RunID, Status: string(lt.Status), FinishedAt: utc(lt.FinishedAt)}
	}
	for i, t := range st.Tables {
		ft := freshnessTable{Table: t.Table, Mode: t.Mode, HighWaterMark: utc(t.HighWaterMark),
			LastSuccessAt: utc(t.LastSuccessAt), LastRunID: t.LastRunID, AgeSeconds: t.AgeSeconds, Stale: t.Stale}
		if t.LastStatus != nil {
			ls := string(*t.LastStatus)
			ft.LastStatus = &ls
		}
		out.Tables[i] = ft
	}
	return c.JSON(http.StatusOK, out)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// etlCollector exports pulso_etl_last_success_timestamp{table} from the ledger at
// scrape time.
type etlCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func newETLCollector(s *Server) *etlCollector {
	return &etlCollector{s: s, desc: prometheus.NewDesc("pulso_etl_last_success_timestamp",
		"Unix time of each source table's last successful load.", []string{"table"}, nil)}
}

func (e *etlCollector) Describe(ch chan<- *prometheus.Desc) { ch <- e.desc }

func (e *etlCollector) Collect(ch chan<- prometheus.Metric) {
	if !e.s.pgUp.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := e.s.readStatusOf(ctx, e.s.tables)
	if err != nil {
		e.s.log.Warn("metrics: reading the ledger failed", "error", err)
		return
	}
	for _, t := range st.Tables {
		if t.LastSuccessAt != nil {
			ch <- prometheus.MustNewConstMetric(e.desc, prometheus.GaugeValue,
				float64(t.LastSuccessAt.Unix()), t.Table)
		}
	}
}
