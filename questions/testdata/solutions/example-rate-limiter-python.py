from collections import deque


class RateLimiter:
    def __init__(self, limit, window):
        self.limit = limit
        self.window = window
        self.allowed = deque()

    def allow(self, now):
        while self.allowed and self.allowed[0] <= now - self.window:
            self.allowed.popleft()
        if len(self.allowed) >= self.limit:
            return False
        self.allowed.append(now)
        return True
