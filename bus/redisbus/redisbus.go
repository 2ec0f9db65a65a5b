// Package redisbus is the hub's bus (collab.Bus) over Redis pub/sub, for several
// duet processes serving the sessions of one PostgreSQL database. Redis holds
// nothing that must survive: a session's events go to a channel of its own, and a
// process subscribes to the channels of the sessions it has clients in. When the
// connection to Redis breaks, the client reconnects and subscribes again, and every
// session is then told it may have missed events (it reads them from the store).
package redisbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"duet/collab"
)

// Bus is a connection to Redis carrying sessions' events. It is safe for
// concurrent use.
type Bus struct {
	client *redis.Client
	ps     *redis.PubSub
	prefix string
	logger *slog.Logger

	mu      sync.Mutex
	follows map[string]*follow // by channel; guarded by mu

	subMu      sync.Mutex      // orders subscribes and unsubscribes
	subscribed map[string]bool // channels asked of Redis; guarded by subMu
	done       chan struct{}
}

type follow struct {
	deliver func([]byte)
}

// Options tune a Bus; zero fields take defaults.
type Options struct {
	// Prefix names the channels: Prefix + session id ("duet:session:").
	Prefix string
	Logger *slog.Logger
	// HealthCheck is how often the subscription is pinged; a connection silent
	// for longer than a few of these is replaced (1 s).
	HealthCheck time.Duration
}

// Open connects to the Redis at url (redis://[user:password@]host:port/db, or
// rediss:// for TLS) and checks that it answers.
func Open(ctx context.Context, url string, opts Options) (*Bus, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = "duet:session:"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HealthCheck <= 0 {
		opts.HealthCheck = time.Second
	}
	client := redis.NewClient(ro)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis at %s: %w", ro.Addr, err)
	}
	b := &Bus{
		client: client, prefix: opts.Prefix, logger: opts.Logger,
		follows: map[string]*follow{}, subscribed: map[string]bool{}, done: make(chan struct{}),
	}
	b.ps = client.Subscribe(ctx)
	ch := b.ps.ChannelWithSubscriptions(
		redis.WithChannelSize(1024),
		redis.WithChannelHealthCheckInterval(opts.HealthCheck),
		redis.WithChannelPingTimeout(2*opts.HealthCheck),
		redis.WithChannelSendTimeout(10*time.Second),
	)
	go b.dispatch(ch)
	return b, nil
}

// Publish sends events, each to every process following its session, in one round
// trip (a pipeline).
func (b *Bus) Publish(ctx context.Context, events ...collab.BusEvent) error {
	switch len(events) {
	case 0:
		return nil
	case 1:
		if err := b.client.Publish(ctx, b.prefix+events[0].Session, events[0].Data).Err(); err != nil {
			return fmt.Errorf("publish on %s: %w", events[0].Session, err)
		}
		return nil
	}
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range events {
			p.Publish(ctx, b.prefix+e.Session, e.Data)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish %d events: %w", len(events), err)
	}
	return nil
}

// Follow subscribes to a session's channel. deliver(nil) comes each time the
// subscription is (re)confirmed by Redis: events published before then may have
// been missed. Neither Follow nor stop waits for Redis: the subscription catches up
// with what is wanted on a goroutine of its own.
func (b *Bus) Follow(session string, deliver func([]byte)) (stop func()) {
	channel := b.prefix + session
	f := &follow{deliver: deliver}
	b.mu.Lock()
	b.follows[channel] = f
	b.mu.Unlock()
	go b.sync(channel)
	return func() {
		b.mu.Lock()
		if b.follows[channel] == f {
			delete(b.follows, channel)
		}
		b.mu.Unlock()
		go b.sync(channel)
	}
}

// sync subscribes to a channel someone follows, or unsubscribes from one nobody
// does any more, whatever order Follow and stop came in. A failure (Redis is down)
// is logged: go-redis subscribes again to what it was asked for when the
// connection comes back.
func (b *Bus) sync(channel string) {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	b.mu.Lock()
	_, followed := b.follows[channel]
	b.mu.Unlock()
	if followed == b.subscribed[channel] {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if followed {
		err = b.ps.Subscribe(ctx, channel)
		b.subscribed[channel] = true
	} else {
		err = b.ps.Unsubscribe(ctx, channel)
		delete(b.subscribed, channel)
	}
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		b.logger.Warn("redis (un)subscribe failed; done again when the connection comes back", "channel", channel, "subscribe", followed, "err", err)
	}
}

// dispatch hands each message to its session's follower, until the bus closes.
func (b *Bus) dispatch(ch <-chan any) {
	defer close(b.done)
	for m := range ch {
		var channel string
		var payload []byte
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			channel = m.Channel // payload nil: events may have been missed
		case *redis.Message:
			channel, payload = m.Channel, []byte(m.Payload)
		default:
			continue
		}
		b.mu.Lock()
		f := b.follows[channel]
		b.mu.Unlock()
		if f != nil {
			f.deliver(payload)
		}
	}
}

// Close ends the subscription and the connections.
func (b *Bus) Close() error {
	err := b.ps.Close()
	<-b.done
	return errors.Join(err, b.client.Close())
}
