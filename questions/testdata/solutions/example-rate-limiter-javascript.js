class RateLimiter {
  constructor(limit, window) {
    this.limit = limit;
    this.window = window;
    this.allowed = [];
    this.head = 0;
  }

  allow(now) {
    while (this.head < this.allowed.length && this.allowed[this.head] <= now - this.window) this.head++;
    if (this.allowed.length - this.head >= this.limit) return false;
    this.allowed.push(now);
    return true;
  }
}
