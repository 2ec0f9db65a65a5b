package replay

import (
	"context"

	"duet/collab/history"
	"duet/collab/people"
)

// cast is a session's people with their names and colors. Colors are handed out in
// the order people first joined (then in the order they are asked for, for anyone the
// store does not know) with people.Color, as a room hands them out to people who
// come one after the other: two people share a color only when there are more
// people than colors. The pad's own colors are not read back: they depend on who was
// connected at the same time, so they may change from one visit to the next, while
// these depend only on what the store holds.
type cast struct {
	people map[string]*Author
	used   map[string]int // people by color
}

// loadCast reads who joined a session.
func (rd *Reader) loadCast(ctx context.Context, id string) (*cast, error) {
	ps, err := history.Participants(ctx, rd.store, id)
	if err != nil {
		return nil, err
	}
	c := &cast{people: map[string]*Author{}, used: map[string]int{}}
	for _, p := range ps {
		c.get(p.UserID).Name = people.SanitizeName(p.Name)
	}
	return c, nil
}

// get returns the person with a user id, adding them (nameless) if needed.
func (c *cast) get(userID string) *Author {
	a := c.people[userID]
	if a == nil {
		a = &Author{UserID: userID, Color: people.Color(c.used)}
		c.people[userID] = a
		c.used[a.Color]++
	}
	return a
}
