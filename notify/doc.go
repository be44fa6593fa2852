// Package notify delivers ducha's notifications through a transactional
// outbox.
//
// A Message is decided and rendered when its cause happens (a transition, a
// round, a bulletin) and written into the outbox in the same database
// transaction, so a message exists if and only if its cause committed. Its
// idempotency key is (cause, recipient, channel): enqueueing it twice is a
// no-op, so retried transactions and several engine processes never create
// duplicates.
//
// The Dispatcher claims due messages from an Outbox (implemented by the store
// package; PostgreSQL claims with FOR UPDATE SKIP LOCKED so several
// dispatchers never share a message), delivers them over Channels with bounded
// concurrency, and records every attempt. A failure that may heal (network,
// HTTP 5xx, SMTP 4xx, a robot's rate limit) is retried with exponential
// backoff and jitter until the message is older than the maximum age; a
// permanent one (HTTP 4xx, SMTP 5xx, a robot's other error codes) is
// dead-lettered at once. A claim is a lease: a message whose dispatcher died
// mid-delivery becomes claimable again when the lease ends.
//
// Channels: SMTP e-mail (go-mail), a JSON webhook signed with HMAC-SHA256,
// the WeCom (企业微信) and DingTalk (钉钉) group robots, and a JSON-lines file.
//
// The package knows no SQL, HTTP handlers or command line: it declares what it
// needs (Outbox, Directory) and the store package implements it.
package notify
