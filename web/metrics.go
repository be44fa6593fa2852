package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ducha/store"
)

// metrics is the handler's own Prometheus registry: HTTP latency and the
// transitions made through it, plus the database's figures read at each
// scrape (rounds, findings by state, history entries by event, outbox
// depth, delivery failures).
type metrics struct {
	reg         *prometheus.Registry
	latency     *prometheus.HistogramVec
	transitions *prometheus.CounterVec
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ducha_http_request_duration_seconds",
			Help:    "Latency of HTTP requests by method, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "code"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ducha_web_transitions_total",
			Help: "Finding transitions made through the web application and API, by event.",
		}, []string{"event"}),
	}
	m.reg.MustRegister(m.latency, m.transitions, &dbCollector{db: db},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, code int, d time.Duration) {
	m.latency.WithLabelValues(method, route, strconv.Itoa(code)).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

var (
	descRounds      = prometheus.NewDesc("ducha_rounds", "Inspection rounds opened.", nil, nil)
	descFindings    = prometheus.NewDesc("ducha_findings", "Findings by lifecycle state.", []string{"state"}, nil)
	descHistory     = prometheus.NewDesc("ducha_finding_transitions", "Finding history entries (transitions) by event.", []string{"event"}, nil)
	descOutbox      = prometheus.NewDesc("ducha_outbox_messages", "Outbox messages by state (pending and sending are the depth).", []string{"state"}, nil)
	descFailures    = prometheus.NewDesc("ducha_delivery_failures", "Failed delivery attempts by outcome (retry, dead).", []string{"outcome"}, nil)
	descScrapeError = prometheus.NewDesc("ducha_metrics_db_up", "1 when the database figures could be read.", nil, nil)
)

type dbCollector struct{ db *store.DB }

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRounds, descFindings, descHistory, descOutbox, descFailures, descScrapeError} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.db.Metrics(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descRounds, prometheus.GaugeValue, float64(m.Rounds))
	for _, g := range []struct {
		desc *prometheus.Desc
		typ  prometheus.ValueType
		vals map[string]int
	}{
		{descFindings, prometheus.GaugeValue, m.FindingsByState},
		{descHistory, prometheus.CounterValue, m.Transitions},
		{descOutbox, prometheus.GaugeValue, m.OutboxByState},
		{descFailures, prometheus.CounterValue, m.DeliveryFailures},
	} {
		for k, v := range g.vals {
			ch <- prometheus.MustNewConstMetric(g.desc, g.typ, float64(v), k)
		}
	}
}
