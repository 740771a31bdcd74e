// End-to-end verifiable ballots in the browser: the same group, encodings, challenges and
// proofs as assembly/crypto (Python), written against @noble/curves' ristretto255 and
// @noble/hashes. docs/e2e.md specifies every byte; tests/crypto/test_browser.py checks that
// what this file makes, Python verifies, and the other way round.
//
// Bundled by esbuild into assembly/static/e2e.js (npm run build); the page loads it as a
// module and finds the functions on globalThis.assemblyE2E.

import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";

import { wire } from "./pages.js";

const Point = ristretto255.Point;
const L = Point.Fn.ORDER;
const G = Point.BASE;
const ZERO = Point.ZERO;
const DOMAIN = "assembly/e2e/v1/";
const utf8 = new TextEncoder();

const mod = (k) => {
  const r = k % L;
  return r < 0n ? r + L : r;
};

const mul = (point, k) => {
  const s = mod(k);
  return s === 0n || point.is0() ? ZERO : point.multiply(s);
};

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

const fromHex = (text) => {
  if (typeof text !== "string" || text.length % 2 || /[^0-9a-f]/i.test(text)) {
    throw new Error("expected hex");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
};

const scalarBytes = (k) => {
  let v = mod(k);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i += 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

const littleEndian = (bytes) => {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i -= 1) v = (v << 8n) | BigInt(bytes[i]);
  return v;
};

const scalarHex = (k) => hex(scalarBytes(k));

const scalarFromHex = (text) => {
  const bytes = fromHex(text);
  const k = littleEndian(bytes);
  if (bytes.length !== 32 || k >= L) throw new Error("not a canonical scalar");
  return k;
};

/** A uniformly random non-zero scalar (64 random bytes reduced: bias below 2^-250). */
const randomScalar = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(64));
  return 1n + (littleEndian(bytes) % (L - 1n));
};

const concat = (chunks) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

const encodePart = (part) => {
  let data;
  if (part instanceof Point) data = part.toBytes();
  else if (typeof part === "bigint") data = scalarBytes(part);
  else if (typeof part === "string") data = utf8.encode(part);
  else if (part instanceof Uint8Array) data = part;
  else throw new Error("a challenge hashes points, scalars (BigInt), bytes and text");
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, data.length);
  return [length, data];
};

/** The Fiat–Shamir challenge, as assembly.crypto.group.challenge. */
const challenge = (label, ...parts) => {
  const chunks = [...encodePart(DOMAIN + label)];
  const add = (part) => {
    if (Array.isArray(part)) part.forEach(add);
    else chunks.push(...encodePart(part));
  };
  parts.forEach(add);
  return littleEndian(sha512(concat(chunks))) % L;
};

const generator = (label) =>
  ristretto255_hasher.deriveToCurve(sha512(utf8.encode(`${DOMAIN}generator/${label}`)));

const pointFromHex = (text) => Point.fromBytes(fromHex(text));

const encrypt = (key, m) => {
  const r = randomScalar();
  return { a: mul(G, r), b: mul(G, m).add(mul(key, r)), r };
};

const schnorr = (x, context) => {
  const k = randomScalar();
  const c = challenge("schnorr", context, mul(G, x), mul(G, k));
  return { c: scalarHex(c), s: scalarHex(mod(k + c * x)) };
};

const bitsFor = (candidates) => candidates.toString(2).length;

/** Encrypt a ranking (0-based candidate indexes) as assembly.crypto.ballot.encrypt_ranking:
 * its preferences packed into numbers below 2^16, each encrypted with a proof that the
 * browser knows its randomness. Returns the ballot as published, its tracker, and the
 * randomness (for a Benaloh audit). */
const encryptRanking = (keyHex, candidates, ranking, poll, credentialHex) => {
  if (new Set(ranking).size !== ranking.length || ranking.some((c) => c < 0 || c >= candidates)) {
    throw new Error("a ranking names each of the poll's candidates at most once");
  }
  const key = pointFromHex(keyHex);
  const bits = bitsFor(candidates);
  const per = Math.max(1, Math.floor(16 / bits));
  const values = [];
  for (let p = 0; p < candidates; p += 1) values.push(p < ranking.length ? ranking[p] + 1 : 0);
  const row = [];
  const proofs = [];
  const randomness = [];
  for (let start = 0; start < candidates; start += per) {
    let number = 0n;
    values.slice(start, start + per).forEach((v, q) => {
      number |= BigInt(v) << BigInt(bits * q);
    });
    const c = encrypt(key, number);
    const bHex = hex(c.b.toBytes());
    const context = `${poll}/ballot/${credentialHex}/${row.length + 1}/${bHex}`;
    row.push([hex(c.a.toBytes()), bHex]);
    proofs.push(schnorr(c.r, context));
    randomness.push(scalarHex(c.r));
  }
  const ballot = { row, proofs };
  return { ballot, tracker: tracker(ballot), randomness };
};

const TRACKER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/** The first 80 bits of SHA-256, five to a character, in four groups of four. */
const trackerOf = (data) => {
  const digest = sha256(data);
  let number = 0n;
  for (let i = 0; i < 10; i += 1) number = (number << 8n) | BigInt(digest[i]);
  let text = "";
  for (let i = 0; i < 16; i += 1) {
    text += TRACKER_ALPHABET[Number((number >> BigInt(75 - 5 * i)) & 31n)];
    if (i % 4 === 3 && i < 15) text += "-";
  }
  return text;
};

const tracker = (ballot) => {
  const chunks = [utf8.encode("assembly/e2e/v1/tracker\0")];
  for (const [a, b] of ballot.row) chunks.push(fromHex(a), fromHex(b));
  return trackerOf(concat(chunks));
};

/** A credential: its secret scalar and public point, in hex. */
const newCredential = () => {
  const x = randomScalar();
  return { secret: scalarHex(x), public: hex(mul(G, x).toBytes()) };
};

/** A credential code: 20 characters of the tracker alphabet (100 bits), in groups of five. */
const newCredentialCode = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const characters = Array.from(bytes, (b) => TRACKER_ALPHABET[b & 31]).join("");
  return characters.match(/.{5}/g).join("-");
};

/** The secret a credential code stands for (as assembly.crypto.ballot.credential_secret). */
const credentialSecret = (code) => {
  const characters = code.replace(/[-\s]/g, "").toUpperCase();
  if (characters.length !== 20 || [...characters].some((c) => !TRACKER_ALPHABET.includes(c))) {
    throw new Error("A credential is 20 letters and digits (no 0, 1, I or O).");
  }
  const digest = sha512(concat([utf8.encode("assembly/e2e/v1/credential\0"), utf8.encode(characters)]));
  return scalarHex(mod(littleEndian(digest)));
};

/** The public credential of a code. */
const publicCredential = (code) => hex(mul(G, scalarFromHex(credentialSecret(code))).toBytes());

/** The voter's signature on a ballot: a Schnorr proof of the credential's secret whose
 * context is the poll and the ballot's tracker. */
const signBallot = (secretHex, poll, ballot) =>
  schnorr(scalarFromHex(secretHex), `${poll}/cast/${tracker(ballot)}`);

// -- the key ceremony ---------------------------------------------------------------------------

// As assembly.crypto.trustees._pad: the parts length-prefixed as a challenge hashes them.
const sharePad = (label, dealer, recipient, ephemeral, shared) =>
  sha512(
    concat(
      ["assembly/e2e/v1/share", label, String(dealer), String(recipient), ephemeral, shared].flatMap(
        encodePart,
      ),
    ),
  ).subarray(0, 32);

const sealShare = (label, dealer, recipient, transport, share) => {
  const e = randomScalar();
  const ephemeral = mul(G, e);
  const pad = sharePad(label, dealer, recipient, ephemeral, mul(transport, e));
  const box = scalarBytes(share).map((byte, i) => byte ^ pad[i]);
  return { ephemeral: hex(ephemeral.toBytes()), box: hex(box) };
};

const openShare = (label, dealer, recipient, transportSecret, sealed) => {
  const ephemeral = pointFromHex(sealed.ephemeral);
  const box = fromHex(sealed.box);
  if (box.length !== 32) throw new Error("a sealed share's box is 32 bytes");
  const pad = sharePad(label, dealer, recipient, ephemeral, mul(ephemeral, transportSecret));
  return mod(littleEndian(box.map((byte, i) => byte ^ pad[i])));
};

const committed = (commitments, j) => {
  let total = ZERO;
  let power = 1n;
  for (const commitment of commitments) {
    total = total.add(mul(commitment, power));
    power = mod(power * BigInt(j));
  }
  return total;
};

/** A trustee's transport key: its browser keeps the secret; the public part is registered. */
const transportKey = newCredential;

/** Trustee `number` deals: a random polynomial of degree threshold − 1, its commitments, the
 * proof of its constant term, and a share sealed to each trustee's transport key. */
const deal = (label, number, threshold, recipients) => {
  const coefficients = Array.from({ length: threshold }, randomScalar);
  const evaluate = (x) => coefficients.reduceRight((value, a) => mod(value * BigInt(x) + a), 0n);
  return {
    number,
    commitments: coefficients.map((a) => hex(mul(G, a).toBytes())),
    proof: schnorr(coefficients[0], `${label}/trustee/${number}`),
    shares: recipients.map(({ number: to, transport }) => ({
      to,
      ...sealShare(label, number, to, pointFromHex(transport), evaluate(to)),
    })),
  };
};

const schnorrHolds = (proof, publicPoint, context) => {
  const c = scalarFromHex(proof.c);
  const s = scalarFromHex(proof.s);
  return challenge("schnorr", context, publicPoint, mul(G, s).subtract(mul(publicPoint, c))) === c;
};

/** Trustee `number` checks every dealing (each proof, and its own share against the
 * dealer's commitments) and, if all hold, derives its decryption key. Returns the key's
 * secret (to keep) and public part, the election key and the dealers whose dealing failed. */
const receive = (label, number, threshold, transportSecretHex, dealings) => {
  const transportSecret = scalarFromHex(transportSecretHex);
  const failed = [];
  let secret = 0n;
  let key = ZERO;
  let publicKey = ZERO;
  for (const dealing of dealings) {
    const commitments = dealing.commitments.map(pointFromHex);
    const mine = dealing.shares.find((s) => s.to === number);
    const proofHolds =
      commitments.length === threshold &&
      schnorrHolds(dealing.proof, commitments[0], `${label}/trustee/${dealing.number}`);
    const share = mine ? openShare(label, dealing.number, number, transportSecret, mine) : null;
    if (!proofHolds || share === null || !mul(G, share).equals(committed(commitments, number))) {
      failed.push(dealing.number);
      continue;
    }
    secret = mod(secret + share);
    key = key.add(commitments[0]);
    publicKey = publicKey.add(committed(commitments, number));
  }
  return {
    failed,
    secret: failed.length ? null : scalarHex(secret),
    public: hex(publicKey.toBytes()),
    electionKey: hex(key.toBytes()),
  };
};

/** challenge() over typed parts given as text: ["point", hex], ["scalar", hex of 32 bytes
 * little-endian or shorter], ["text", s], ["bytes", hex], ["list", [parts…]] (for tests and
 * for other verifiers' cross-checks); the challenge as a decimal string. */
const challengeHex = (label, parts) => {
  const read = ([kind, value]) => {
    if (kind === "point") return pointFromHex(value);
    if (kind === "scalar") return littleEndian(fromHex(value));
    if (kind === "text") return value;
    if (kind === "bytes") return fromHex(value);
    if (kind === "list") return value.map(read);
    throw new Error(`unknown part ${kind}`);
  };
  return challenge(label, ...parts.map(read)).toString();
};

globalThis.assemblyE2E = Object.freeze({
  challengeHex,
  credentialSecret,
  newCredentialCode,
  publicCredential,
  deal,
  receive,
  transportKey,
  encryptRanking,
  generator: (label) => hex(generator(label).toBytes()),
  newCredential,
  signBallot,
  tracker,
  // For tests and the audit page: the group in hex.
  base: () => hex(G.toBytes()),
  times: (pointHex, scalarHexText) => hex(mul(pointFromHex(pointHex), scalarFromHex(scalarHexText)).toBytes()),
});

wire(globalThis.assemblyE2E);
