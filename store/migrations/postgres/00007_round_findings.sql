-- +goose Up
-- The problems each round found: its new findings and the open ones it
-- found again (recorded as repeats). Bulletins list them.
CREATE TABLE round_findings (
    round_id   BIGINT NOT NULL REFERENCES rounds (id),
    finding_id BIGINT NOT NULL REFERENCES findings (id),
    repeat     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (round_id, finding_id)
);
CREATE INDEX round_findings_finding ON round_findings (finding_id);

-- +goose Down
DROP TABLE round_findings;
