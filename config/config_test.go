package config

import (
	"errors"
	"strings"
	"testing"
)

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("../testdata/ducha.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Schedules) != 2 || c.Schedules[1].SampleSpec().Rate != 0.2 || !c.Schedules[1].SampleSpec().Stratify {
		t.Fatalf("schedules = %+v", c.Schedules)
	}
	if c.Schedules[0].Checklist != "../testdata/rules/checklist-2018.yaml" {
		t.Errorf("checklist path not resolved against the config file: %s", c.Schedules[0].Checklist)
	}
	if c.Serve.SweepEvery.Minutes() != 5 || c.Bureau.Name != "某某县司法局" {
		t.Errorf("serve/bureau = %+v %+v", c.Serve, c.Bureau)
	}
}

func TestEmptyConfigIsDefault(t *testing.T) {
	c, err := Parse("empty.yaml", nil)
	if err != nil || c.Serve.Addr != ":8080" || !c.Rounds.OrderOnOpen {
		t.Fatalf("empty config = %+v, %v", c, err)
	}
}

func TestConfigErrorsNamePosition(t *testing.T) {
	cases := []struct{ src, want string }{
		{"bureau:\n  nmae: x\n", `c.yaml:2:3: 未知的配置项 "nmae"`},
		{"serve:\n  sweep_every: soon\n", "c.yaml:2:"},
		{"schedules:\n  - name: m\n    kind: periodic\n    cron: \"0 0 31 2 *\"\n    checklist: c.yaml\n    period: previous_month\n", "c.yaml:4:5: schedules[0] cron:"},
		{"schedules:\n  - name: m\n    kind: periodic\n    cron: \"@monthly\"\n    checklist: c.yaml\n    period: previous_month\n  - name: m\n    kind: periodic\n    cron: \"@monthly\"\n    checklist: c.yaml\n    period: previous_month\n", "重复"},
		{"policy:\n  summon_hour: 30\n", "c.yaml:2:"},
		{"bureau: [\n", "c.yaml:"},
	}
	for _, tc := range cases {
		_, err := Parse("c.yaml", []byte(tc.src))
		var bad interface{ BadInput() bool }
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &bad) {
			t.Errorf("Parse(%q) = %v; want an input error containing %q", tc.src, err, tc.want)
		}
	}
}
