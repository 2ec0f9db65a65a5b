// interop.mjs runs real @codemirror/collab clients against a running duet server and
// exits 0 only if they all converge with it (docs/protocol.md).
//
//   node assets/interop/interop.mjs --url http://127.0.0.1:8080 [--clients 3] [--edits 200] [--seed 1]
//
// --url may list several processes serving the same sessions (-bus redis), comma-separated:
// the clients are spread over them, a client that reconnects moves to the next one, and
// every process must end with the same document.
//
// It creates its own session (POST /sessions), connects the clients over WebSockets
// (the `ws` package) and has them type concurrently: random insertions, deletions and
// replacements, sometimes several ranges at once, with ASCII, emoji, CJK and line
// breaks, at random paces. Each client is an EditorState with the collab() extension,
// driven as the editor island drives it:
//
//   * it pushes sendableUpdates() from getSyncedVersion(), one push in flight at a time;
//   * it applies every received update with receiveUpdates(state, [u]), ONE update at a
//     time (batches can make a client with unconfirmed updates diverge from duet's
//     sequential rebase: docs/protocol.md, "The sequential rebase");
//   * it pulls when it sees a gap, pulls again when an answer says "more", and takes an
//     empty `update` as the answer to a resend whose updates were all accepted before.
//
// Two clients drop their connection while they have unconfirmed updates and come back
// with the same clientID: one closes cleanly, keeps typing offline, then pulls from its
// synced version, applies what comes back and pushes (docs/protocol.md); the other loses the
// confirmation of its push with the connection and resends it first, so the server
// answers with an empty update and the client pulls.
//
// After every update it applies, a client checks that its document is the server's
// document at that version (all the updates it received, as the server sent them)
// with its unconfirmed updates applied, so a divergence is reported where it happens.
// It also checks that every client is sent the same update for the same version. At
// the end, once everything is confirmed, every document must equal the server's (the
// version from GET /sessions/{id}, the text from a fresh `sync`), and the server's
// version must be exactly the number of edits made: nothing lost, nothing applied twice.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

import { collab, getSyncedVersion, receiveUpdates, sendableUpdates } from "@codemirror/collab";
import { ChangeSet, EditorState, Text } from "@codemirror/state";
import WebSocket from "ws";

const usage = `usage: node assets/interop/interop.mjs --url http://127.0.0.1:PORT [--clients 3] [--edits 200] [--seed N] [--doc-size 60] [--timeout 60] [--verbose] [--batch]

--batch makes the clients apply consecutive received updates in one receiveUpdates call,
which diverges from duet's sequential rebase (map is not invariant under composition): about half the seeds then
fail, which shows that the checks catch a divergence.`;

let opts;
try {
	({ values: opts } = parseArgs({
		options: {
			url: { type: "string" },
			clients: { type: "string", default: "3" },
			edits: { type: "string", default: "200" }, // per client
			seed: { type: "string", default: "1" },
			"doc-size": { type: "string", default: "60" }, // above it, edits mostly delete
			timeout: { type: "string", default: "60" }, // seconds for the whole run
			batch: { type: "boolean", default: false }, // wrong on purpose: see the usage
			verbose: { type: "boolean", default: false },
			help: { type: "boolean", default: false },
		},
	}));
} catch (e) {
	console.error(`interop: ${e.message}\n${usage}`);
	process.exit(2);
}
if (opts.help) {
	console.log(usage);
	process.exit(0);
}
const nClients = Number(opts.clients);
const nEdits = Number(opts.edits);
const seed = Number(opts.seed);
const timeoutSec = Number(opts.timeout);
const docSize = Number(opts["doc-size"]);
if (!opts.url || !/^https?:\/\//.test(opts.url) || !(nClients >= 2) || !(nEdits >= 1) ||
	!Number.isSafeInteger(seed) || !(timeoutSec > 0) || !(docSize >= 1)) {
	console.error(`interop: bad arguments\n${usage}`);
	process.exit(2);
}
const httpBases = opts.url.split(",").map((u) => u.trim().replace(/\/+$/, ""));
if (!httpBases.every((u) => /^https?:\/\//.test(u))) {
	console.error(`interop: bad --url\n${usage}`);
	process.exit(2);
}
const httpBase = httpBases[0];
const wsBases = httpBases.map((u) => u.replace(/^http/, "ws"));
const wsBase = wsBases[0];
const started = Date.now();

// ---------------------------------------------------------------------------------
// Failure, logging, randomness

let finished = false; // set once the verdict is known: late socket events are ignored
const clients = [];

function elapsed() {
	return ((Date.now() - started) / 1000).toFixed(2) + "s";
}

function verbose(msg) {
	if (opts.verbose) console.log(`[${elapsed()}] ${msg}`);
}

// fail prints why the run failed, with where every client stands, and exits 1.
function fail(msg) {
	if (finished) return;
	finished = true;
	console.error(`interop: FAIL (seed ${seed}, after ${elapsed()}): ${msg}`);
	for (const c of clients) console.error("  " + c.describe());
	for (const c of clients) c.ws?.terminate();
	process.exit(1);
}

const timer = setTimeout(() => fail(`no verdict within ${timeoutSec}s`), timeoutSec * 1000);

// mulberry32: a small seeded generator, so a seed replays the same choices (the timing,
// and so the interleaving, still varies from run to run).
function rng32(a) {
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------
// Random edits, as a person typing in the editor would make them

const pieces = ["a", "bc", "def ", "😀", "中文", "\n", "x\ny", "  ", "é", "🇫🇷", "👩‍💻", "print(1)\n", "\n\n", "한글"];

function isLow(code) {
	return code >= 0xdc00 && code <= 0xdfff;
}

// unitAt returns the UTF-16 code unit at pos (NaN past the end).
function unitAt(doc, pos) {
	return doc.sliceString(pos, pos + 1).charCodeAt(0);
}

// randomChanges returns change specs for doc: one to three ranges, each an insertion,
// a deletion or a replacement. Like the editor, it never cuts a surrogate pair.
function randomChanges(rng, doc) {
	const n = doc.length;
	const nRanges = rng() < 0.15 ? 2 + Math.floor(rng() * 2) : 1;
	const cuts = [];
	for (let i = 0; i < nRanges; i++) {
		// Often at a spot the others type at too, where ties and overlaps happen.
		const hot = rng() < 0.4;
		cuts.push(hot ? [0, n, n >> 1][Math.floor(rng() * 3)] : Math.floor(rng() * (n + 1)));
	}
	cuts.sort((a, b) => a - b);
	const specs = [];
	let min = 0; // ranges must not overlap
	for (let from of cuts) {
		from = Math.max(from, min);
		if (from > n) break;
		let to = from;
		const long = n > docSize; // keep the document small, so that edits meet and tie
		if (from < n && rng() < (long ? 0.8 : 0.45)) to = Math.min(n, from + 1 + Math.floor(rng() * (long ? 60 : 12)));
		if (from > 0 && from < n && isLow(unitAt(doc, from))) from--;
		if (to > 0 && to < n && isLow(unitAt(doc, to))) to++;
		let insert = "";
		if (to === from || rng() < 0.5) {
			for (let k = 1 + Math.floor(rng() * 3); k > 0; k--) insert += pieces[Math.floor(rng() * pieces.length)];
		}
		specs.push({ from, to, insert });
		min = to + 1;
	}
	return specs;
}

// typingDelay is the pause before the next edit: mostly fast, sometimes a breath.
function typingDelay(rng) {
	const r = rng();
	if (r < 0.7) return Math.floor(rng() * 3);
	if (r < 0.95) return 3 + Math.floor(rng() * 12);
	return 15 + Math.floor(rng() * 45);
}

// ---------------------------------------------------------------------------------
// The update log as the server sent it, shared by all clients

const sentLog = new Map(); // version → "clientID changes" as first received

function checkSameLog(client, version, key) {
	const seen = sentLog.get(version);
	if (seen === undefined) sentLog.set(version, key);
	else if (seen !== key) fail(`the server sent two different updates as version ${version}: ${seen} (first seen) and ${key} (to ${client.name})`);
}

// ---------------------------------------------------------------------------------
// A collab client

class Client {
	constructor(index) {
		this.index = index;
		this.name = `client ${index}`;
		this.clientID = `interop-${index}-${seed}-ü`; // non-ASCII: the id must round-trip exactly
		this.userID = randomUUID();
		this.rng = rng32(seed * 7919 + index * 104729 + 1);
		this.state = null; // EditorState with collab(); created from the first sync
		this.shadow = null; // the server's document at getSyncedVersion(state)
		this.ws = null;
		this.online = false; // connected and synced: may send
		this.inFlight = false; // a push awaits its answer
		this.pullFrom = null; // version of the pull awaiting its answer
		this.pushedAt = 0; // version of the push in flight
		this.afterSync = null; // what to do once a reconnect's sync arrives
		this.onSynced = null;
		this.inbox = []; // received, not yet handled (handled at a random pace)
		this.draining = false;
		this.edits = 0; // local transactions made: each is one update
		this.stats = { pushes: 0, pulls: 0, gaps: 0, emptyAnswers: 0, confirmed: 0, rebased: 0, foreign: 0, concurrent: 0, reconnects: 0 };
	}

	describe() {
		if (!this.state) return `${this.name}: never synced`;
		const s = this.stats;
		return `${this.name} (${this.clientID}): version ${getSyncedVersion(this.state)}, ` +
			`${sendableUpdates(this.state).length} unconfirmed, doc ${this.state.doc.length} units, ` +
			`${this.edits} edits, online ${this.online}, in flight ${this.inFlight}, pull ${this.pullFrom}, inbox ${this.inbox.length}; ` +
			`pushes ${s.pushes}, pulls ${s.pulls}, gaps ${s.gaps}, empty answers ${s.emptyAnswers}, ` +
			`confirmed ${s.confirmed} (pushes rebased ${s.rebased}), foreign ${s.foreign} (${s.concurrent} while unconfirmed), reconnects ${s.reconnects}`;
	}

	// connect opens a socket and resolves once its sync has been handled.
	connect() {
		return new Promise((resolve) => {
			this.onSynced = resolve;
			this.inFlight = false; // nothing is in flight on a new connection
			this.pullFrom = null;
			const q = new URLSearchParams({ userId: this.userID, userName: `interop ${this.index}` });
			// Spread over the processes; a reconnect moves to the next one.
			const base = wsBases[(this.index + this.stats.reconnects) % wsBases.length];
			const ws = new WebSocket(`${base}/ws/${session}?${q}`);
			this.ws = ws;
			ws.on("message", (data, isBinary) => {
				if (this.ws !== ws) return; // a dropped connection: what it still brings is lost
				if (isBinary) fail(`${this.name}: binary frame from the server`);
				let m;
				try {
					m = JSON.parse(data.toString("utf8"));
				} catch (e) {
					fail(`${this.name}: the server sent invalid JSON (${e.message}): ${data.toString("utf8").slice(0, 200)}`);
				}
				this.inbox.push(m);
				this.drain();
			});
			ws.on("close", (code, reason) => {
				if (this.ws === ws && !finished) fail(`${this.name}: the server closed the socket: ${code} ${reason}`);
			});
			ws.on("error", (err) => {
				if (this.ws === ws) fail(`${this.name}: socket error: ${err.message}`);
			});
		});
	}

	send(msg) {
		if (!this.online) return false;
		this.ws.send(JSON.stringify(msg));
		return true;
	}

	// drain handles received messages in order, pausing now and then, so that local
	// edits and pushes interleave with receiving as they do in a browser.
	drain() {
		if (this.draining) return;
		this.draining = true;
		const step = () => {
			if (finished) return;
			const m = this.inbox.shift();
			if (m === undefined) {
				this.draining = false;
				return;
			}
			try {
				this.handle(m);
			} catch (e) {
				fail(`${this.name}: handling ${JSON.stringify(m).slice(0, 300)}: ${e.stack || e}`);
			}
			if (this.rng() < 0.25) setTimeout(step, Math.floor(this.rng() * 4));
			else setImmediate(step);
		};
		setImmediate(step);
	}

	handle(m) {
		switch (m.type) {
		case "sync":
			this.handleSync(m);
			break;
		case "update":
			this.handleUpdate(m);
			break;
		case "error":
			fail(`${this.name}: the server refused a message: ${m.code}: ${m.message}`);
			break;
		case "user_joined": case "user_left": case "cursor": case "language": case "run":
			break;
		default:
			fail(`${this.name}: unknown message type ${JSON.stringify(m.type)}`);
		}
		this.maybePush();
	}

	handleSync(m) {
		if (typeof m.version !== "number" || typeof m.content !== "string") fail(`${this.name}: malformed sync ${JSON.stringify(m).slice(0, 200)}`);
		if (this.state === null) {
			const text = Text.of(m.content.split("\n"));
			this.state = EditorState.create({ doc: text, extensions: [collab({ clientID: this.clientID, startVersion: m.version })] });
			this.shadow = text;
			this.online = true;
		} else if (this.onSynced === null) {
			fail(`${this.name}: a sync in the middle of a connection (the server could not serve a pull)`);
		} else {
			// A reconnect keeps its own state and ignores the content (docs/protocol.md).
			const v = getSyncedVersion(this.state);
			if (m.version < v) fail(`${this.name}: reconnected to version ${m.version}, behind its own ${v}`);
			this.online = true;
			this.afterSync?.();
			this.afterSync = null;
		}
		const resolve = this.onSynced;
		this.onSynced = null;
		resolve?.();
	}

	handleUpdate(m) {
		if (typeof m.version !== "number" || !Array.isArray(m.updates)) fail(`${this.name}: malformed update ${JSON.stringify(m).slice(0, 200)}`);
		const v = getSyncedVersion(this.state);
		if (m.updates.length === 0) {
			if (this.pullFrom !== null && m.version === this.pullFrom) {
				this.pullFrom = null; // a pull with nothing new
				return;
			}
			// The answer to a push whose updates were all accepted before: the server is
			// at m.version, and the client pulls the updates it lacks.
			if (!this.inFlight) fail(`${this.name}: an empty update at ${m.version} that answers nothing (at ${v})`);
			this.inFlight = false;
			this.stats.emptyAnswers++;
			if (m.version <= v) fail(`${this.name}: push answered "all accepted before" at ${m.version}, but the log up to ${v} lacks ${sendableUpdates(this.state).length} of its updates`);
			this.pull();
			return;
		}
		if (m.version > v) {
			this.stats.gaps++; // updates before these are missing
			this.pull();
			return;
		}
		if (this.pullFrom !== null && m.version === this.pullFrom) this.pullFrom = null;
		if (opts.batch) { // the mistake --batch demonstrates: whole batches at once
			while (this.inbox[0]?.type === "update" && this.inbox[0].updates.length > 0 &&
				this.inbox[0].version === m.version + m.updates.length) {
				m = { ...m, updates: m.updates.concat(this.inbox.shift().updates) };
			}
		}
		let batch = [], from = 0;
		for (let i = 0; i < m.updates.length; i++) {
			const version = m.version + i;
			const u = m.updates[i];
			checkSameLog(this, version, `${u.clientID} ${JSON.stringify(u.changes)}`);
			if (version < getSyncedVersion(this.state) + batch.length) continue; // seen already
			if (batch.length === 0) from = version;
			batch.push({ changes: ChangeSet.fromJSON(u.changes), clientID: u.clientID });
			if (!opts.batch) { // one update at a time, as the sequential rebase needs
				this.receive(batch, from);
				batch = [];
			}
		}
		if (batch.length > 0) this.receive(batch, from);
		if (m.more) this.pull(); // the server answers a long pull a budget of bytes at a time
	}

	// receive applies updates that start at version, as the server sent them, with
	// receiveUpdates, and checks the document after it.
	receive(updates, version) {
		let unconfirmed = sendableUpdates(this.state).length;
		updates.forEach((u, i) => {
			if (u.clientID === this.clientID) {
				if (unconfirmed === 0) fail(`${this.name}: update ${version + i} has its clientID, but it has nothing unconfirmed`);
				unconfirmed--;
				if (this.inFlight && version + i > this.pushedAt) this.stats.rebased++; // the server rebased the push
				this.inFlight = false; // the push was answered; the rest goes in the next one
				this.stats.confirmed++;
			} else {
				this.stats.foreign++;
				if (unconfirmed > 0) this.stats.concurrent++;
			}
			try {
				this.shadow = u.changes.apply(this.shadow);
			} catch (e) {
				fail(`${this.name}: update ${version + i} does not fit the document the server sent before it: ${e.message}`);
			}
		});
		this.state = receiveUpdates(this.state, updates).state;
		this.checkDoc(version + updates.length);
	}

	// checkDoc verifies that the editor's document is the server's document at the
	// synced version with the unconfirmed updates applied.
	checkDoc(version) {
		let want = this.shadow;
		try {
			for (const u of sendableUpdates(this.state)) want = u.changes.apply(want);
		} catch (e) {
			fail(`${this.name} diverged at version ${version}: its unconfirmed updates no longer fit the server's document: ${e.message}`);
		}
		if (!want.eq(this.state.doc)) {
			fail(`${this.name} diverged at version ${version}: its document ${JSON.stringify(this.state.doc.toString()).slice(0, 300)} ` +
				`is not the server's with its unconfirmed updates applied ${JSON.stringify(want.toString()).slice(0, 300)}`);
		}
	}

	maybePush() {
		if (finished || !this.online || this.inFlight || this.pullFrom !== null) return;
		const updates = sendableUpdates(this.state);
		if (updates.length === 0) return;
		this.inFlight = true;
		this.pushedAt = getSyncedVersion(this.state);
		this.stats.pushes++;
		this.send({
			type: "edit",
			version: getSyncedVersion(this.state),
			updates: updates.map((u) => ({ clientID: u.clientID, changes: u.changes.toJSON() })),
		});
	}

	pull() {
		if (!this.online || this.pullFrom !== null) return;
		this.pullFrom = getSyncedVersion(this.state);
		this.stats.pulls++;
		this.send({ type: "pull", version: this.pullFrom });
	}

	localEdit() {
		const specs = randomChanges(this.rng, this.state.doc);
		const tr = this.state.update({ changes: specs, userEvent: "input" });
		if (tr.changes.empty) throw new Error(`empty change from ${JSON.stringify(specs)}`);
		this.state = tr.state;
		this.edits++;
	}

	// reconnect drops the connection while updates are unconfirmed and comes back with
	// the same clientID. "pull": close cleanly, type offline, then pull from the synced
	// version and push after applying the answer (docs/protocol.md). "resend": the push's
	// confirmation is lost with the connection; resend first, which the server answers
	// with an empty update (everything was accepted before), then pull.
	async reconnect(mode) {
		this.stats.reconnects++;
		if (mode === "resend") {
			// Push everything in one go, so that the server has all of it when the resend comes.
			while (this.inFlight || this.pullFrom !== null) await sleep(1);
		}
		this.localEdit();
		this.maybePush();
		const old = this.ws;
		const wasInFlight = this.inFlight;
		this.ws = null; // deaf from now on: what the server still sends is lost
		this.online = false;
		if (mode === "resend") {
			await sleep(50); // long enough for the server to accept the push in flight
			old.terminate(); // an abrupt loss, no close frame
		} else {
			old.close(1000, "going offline");
		}
		verbose(`${this.name} dropped its connection (${mode}) with ${sendableUpdates(this.state).length} unconfirmed, push in flight ${wasInFlight}`);
		if (mode === "pull") {
			for (let k = 0; k < 3; k++) { // keeps typing offline
				await sleep(typingDelay(this.rng));
				this.localEdit();
			}
			this.afterSync = () => this.pull(); // handleUpdate pushes once the answer is applied
		} else {
			this.afterSync = () => this.maybePush();
		}
		await sleep(10);
		await this.connect();
		verbose(`${this.name} reconnected at version ${getSyncedVersion(this.state)}`);
	}

	// type makes the client's edits; reconnectMode, if set, drops the connection once
	// in the middle.
	async type(reconnectMode) {
		const at = Math.floor(nEdits / 2) + this.index;
		for (let i = 0; i < nEdits; i++) {
			if (finished) return;
			if (reconnectMode && i === at) {
				await this.reconnect(reconnectMode);
				continue;
			}
			await sleep(typingDelay(this.rng));
			this.localEdit();
			if (this.rng() < 0.6) this.maybePush();
		}
		this.maybePush();
	}

	settled(version) {
		return this.online && !this.inFlight && this.pullFrom === null && this.inbox.length === 0 && !this.draining &&
			sendableUpdates(this.state).length === 0 && getSyncedVersion(this.state) === version;
	}
}

// ---------------------------------------------------------------------------------
// The server's side

async function api(method, path, body) {
	const res = await fetch(httpBase + path, {
		method,
		headers: body ? { "Content-Type": "application/json" } : {},
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await res.text();
	if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
	return JSON.parse(text);
}

// serverSync opens a fresh connection and returns its sync: the server's document.
function serverSync(base = wsBase) {
	return new Promise((resolve, reject) => {
		const q = new URLSearchParams({ userId: randomUUID(), userName: "interop observer" });
		const ws = new WebSocket(`${base}/ws/${session}?${q}`);
		ws.on("message", (data) => {
			const m = JSON.parse(data.toString("utf8"));
			if (m.type !== "sync") return reject(new Error(`first message of a fresh connection is ${m.type}, not sync`));
			ws.close(1000);
			resolve(m);
		});
		ws.on("error", reject);
		ws.on("close", (code, reason) => reject(new Error(`observer closed before its sync: ${code} ${reason}`)));
	});
}

// ---------------------------------------------------------------------------------
// The run

let session;
try {
	session = (await api("POST", "/sessions", { language: "python" })).id;
} catch (e) {
	fail(`cannot create a session: ${e.cause?.message || e.message}`);
}
verbose(`session ${session}`);

for (let i = 0; i < nClients; i++) clients.push(new Client(i));
await Promise.all(clients.map((c) => c.connect()));
verbose(`${nClients} clients synced`);

// Client 1 reconnects the documented way (pull, then push), client 2 (or 0 with two clients) by resending.
const modes = new Map([[1 % nClients, "pull"], [2 % nClients, "resend"]]);
if (nClients === 2) modes.set(0, "resend");
await Promise.all(clients.map((c) => c.type(modes.get(c.index))));
verbose("typing done");

// Quiesce: everything confirmed, everyone at the server's version.
let server;
for (;;) {
	server = await api("GET", `/sessions/${session}`);
	if (clients.every((c) => c.settled(server.version))) break;
	await sleep(20);
}
const sync = await serverSync();
const final = await api("GET", `/sessions/${session}`);

const problems = [];
const edits = clients.reduce((n, c) => n + c.edits, 0);
if (sync.version !== server.version || final.version !== server.version) {
	problems.push(`the server moved after everyone settled: GET gave ${server.version}, then sync ${sync.version}, then GET ${final.version}`);
}
for (const base of wsBases.slice(1)) {
	const other = await serverSync(base);
	if (other.version !== sync.version || other.content !== sync.content) {
		problems.push(`the process at ${base} has version ${other.version} (${other.content.length} units), the first ${sync.version} (${sync.content.length} units)`);
	}
}
if (server.version !== edits) {
	problems.push(`the server is at version ${server.version}, but the clients made ${edits} edits (${server.version > edits ? "duplicated" : "lost"} updates)`);
}
for (const c of clients) {
	const doc = c.state.doc.toString();
	if (doc !== sync.content) {
		problems.push(`${c.name}'s document (${doc.length} units) differs from the server's (${sync.content.length} units): ` +
			`${JSON.stringify(doc).slice(0, 200)} vs ${JSON.stringify(sync.content).slice(0, 200)}`);
	}
	if (c.shadow.toString() !== sync.content) problems.push(`${c.name}: the updates it received do not rebuild the server's document`);
}
const perClient = new Map();
for (let v = 0; v < server.version; v++) {
	const key = sentLog.get(v);
	if (key === undefined) {
		problems.push(`no client saw version ${v}`);
		break;
	}
	const id = key.slice(0, key.indexOf(" "));
	perClient.set(id, (perClient.get(id) ?? 0) + 1);
}
for (const c of clients) {
	const n = perClient.get(c.clientID) ?? 0;
	if (n !== c.edits) problems.push(`${c.name} made ${c.edits} edits but the log holds ${n} of its updates`);
}
if (problems.length) fail(problems.join("\n  "));

finished = true;
clearTimeout(timer);
const total = clients.reduce((s, c) => {
	for (const k in c.stats) s[k] = (s[k] ?? 0) + c.stats[k];
	return s;
}, {});
console.log(`interop: ok: seed ${seed}, ${nClients} clients, ${edits} edits, server version ${server.version}, ` +
	`document ${sync.content.length} UTF-16 units, ${elapsed()}; pushes ${total.pushes} (${total.rebased} rebased by the server), ` +
	`updates received while unconfirmed ${total.concurrent}, reconnects ${total.reconnects}, pulls ${total.pulls}, ` +
	`gaps ${total.gaps}, empty answers ${total.emptyAnswers}`);
if (opts.verbose) for (const c of clients) console.log("  " + c.describe());
// Say goodbye properly, so the server logs normal closures, but do not wait long.
await Promise.race([sleep(1000), Promise.all(clients.map((c) => new Promise((resolve) => {
	c.ws.once("close", resolve);
	c.ws.close(1000, "done");
})))]);
process.exit(0);
