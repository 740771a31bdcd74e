// The pages' halves of the end-to-end verifiable steps: a trustee's key ceremony, the
// returning officer's credentials, and a voter's encrypted ballot. Each page marks its part
// with a data-e2e attribute and gives what it needs in a JSON block (<script
// type="application/json" id="e2e-data">); what is secret (a trustee's keys, the voters'
// credential codes, a ballot's randomness) stays in this browser, in files it saves, and is
// never sent.

const data = () => JSON.parse(document.getElementById("e2e-data").textContent);

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

const say = (element, text, problem = false) => {
  element.textContent = text;
  element.hidden = false;
  element.classList.toggle("app-e2e-problem", problem);
};

const post = async (url, body) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
  if (!response.ok) throw new Error(answer.error || `The server answered ${response.status}.`);
  return answer;
};

const save = (name, text, type = "application/json") => {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.textContent = `Save ${name} again`;
  link.className = "govuk-link app-e2e-saved";
  document.body.append(link);
  link.click();
  return link;
};

// -- a trustee's key ceremony -------------------------------------------------------------------

const KEYS = "assembly-e2e-trustee:";

const keyFile = (d) => JSON.parse(localStorage.getItem(KEYS + d.label + ":" + d.number) || "{}");

const keepKeyFile = (d, file) => {
  localStorage.setItem(KEYS + d.label + ":" + d.number, JSON.stringify(file));
  return save(`trustee-${d.number}-${d.label.replaceAll("/", "-")}.json`, JSON.stringify(file, null, 1));
};

const readUploadedKeyFile = async (input) => {
  const file = input && input.files && input.files[0];
  return file ? JSON.parse(await file.text()) : null;
};

const ceremony = (api, root) => {
  const d = data();
  const status = root.querySelector("[data-e2e-status]");
  const button = root.querySelector("[data-e2e-action]");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (d.step === "registering") {
        const transport = api.transportKey();
        keepKeyFile(d, { ceremony: d.label, number: d.number, transport_secret: transport.secret });
        await post(d.url, { transport_key: transport.public });
      } else if (d.step === "dealing") {
        await post(d.url, { dealing: api.deal(d.label, d.number, d.threshold, d.recipients) });
      } else if (d.step === "confirming") {
        const file = (await readUploadedKeyFile(root.querySelector("[data-e2e-key-file]"))) || keyFile(d);
        if (!file.transport_secret) throw new Error("Choose the trustee key file this browser saved when you registered.");
        const got = api.receive(d.label, d.number, d.threshold, file.transport_secret, d.dealings);
        if (got.failed.length) {
          throw new Error(`The dealing of trustee ${got.failed.join(", ")} failed your browser's check. Tell the returning officer, who starts the dealing again.`);
        }
        keepKeyFile(d, { ...file, secret: got.secret, public: got.public, election_key: got.electionKey });
        await post(d.url, { public_key: got.public });
      }
      window.location.reload();
    } catch (error) {
      say(status, error.message, true);
      button.disabled = false;
    }
  });
};

// -- the returning officer's credentials --------------------------------------------------------

const credentials = (api, root) => {
  const d = data();
  const status = root.querySelector("[data-e2e-status]");
  for (const button of root.querySelectorAll("[data-e2e-contest]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const contest = d.contests.find((c) => String(c.id) === button.dataset.e2eContest);
      button.disabled = true;
      try {
        const lines = ["elector_number,email,credential"];
        const publics = [];
        for (const voter of contest.roll) {
          const code = api.newCredentialCode();
          publics.push(api.publicCredential(code));
          lines.push(`${voter.number},${voter.email},${code}`);
        }
        publics.sort();
        // Saved before it is sent: the codes exist nowhere else.
        save(`credentials-${contest.slug}.csv`, lines.join("\n") + "\n", "text/csv");
        await post(contest.url, { credentials: publics });
        window.location.reload();
      } catch (error) {
        say(status, error.message, true);
        button.disabled = false;
      }
    });
  }
};

// -- the returning officer's voting cards (an assembly's) -----------------------------------------

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** A sheet of cards to print and cut: each with the assembly, the constituency and its code. */
const cardSheet = (d, group, codes) => {
  const cardsHtml = codes
    .map(
      (code, i) => `<div class="card"><p class="what">Voting card ${i + 1} · ${escapeHtml(group.name)}</p>
<p class="title">${escapeHtml(d.title)}</p><p class="code" data-card>${code}</p>
<p class="how">When you vote on your phone, type this code. Keep it until the assembly ends: every vote uses it. Nobody knows which card is yours.</p></div>`,
    )
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Voting cards: ${escapeHtml(d.title)}, ${escapeHtml(group.name)}</title>
<style>body{font-family:sans-serif;margin:0}.sheet{display:grid;grid-template-columns:repeat(2,1fr);gap:0}
.card{border:1px dashed #777;padding:12px 16px;break-inside:avoid;height:170px}.what{font-size:12px;margin:0}
.title{font-weight:bold;margin:4px 0}.code{font:bold 20px monospace;letter-spacing:1px;margin:8px 0}.how{font-size:11px;margin:0}</style>
</head><body><div class="sheet">${cardsHtml}</div></body></html>\n`;
};

const cards = (api, root) => {
  const d = data();
  const status = root.querySelector("[data-e2e-status]");
  for (const button of root.querySelectorAll("[data-e2e-cards]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const group = d.constituencies.find((c) => c.key === button.dataset.e2eCards);
      const count = Number(root.querySelector(`#count-${group.key}`).value.trim());
      if (!Number.isInteger(count) || count < 1 || count > d.max) {
        say(status, `Make 1 to ${d.max} cards at a time.`, true);
        return;
      }
      button.disabled = true;
      try {
        const codes = Array.from({ length: count }, () => api.newCredentialCode());
        const publics = codes.map((code) => api.publicCredential(code)).sort();
        // Saved before it is sent: the codes exist nowhere else.
        save(`cards-${d.slug}-${group.key}-${new Date().toISOString().slice(0, 19).replaceAll(":", "")}.html`, cardSheet(d, group, codes), "text/html");
        await post(group.url, { credentials: publics });
        window.location.reload();
      } catch (error) {
        say(status, error.message, true);
        button.disabled = false;
      }
    });
  }
};

// -- a voter's marks, read in the browser ------------------------------------------------------

// As assembly.polls.marks reads them on the server, with the same messages: with this script
// running, the marks never leave the browser unencrypted.
class MarksProblem extends Error {
  constructor(message, field = "") {
    super(message);
    this.field = field;
  }
}

const NUMBER = /^[0-9]{1,4}$/;

const rankedMarks = (form, d) => {
  const numbered = new Map();
  for (const id of d.ballot_order) {
    const field = `pref-${id}`;
    const input = form.querySelector(`[name="${field}"]`);
    const text = input ? input.value.trim() : "";
    if (!text) continue;
    const name = d.names[id];
    if (!NUMBER.test(text)) throw new MarksProblem(`Write a whole number, such as 1, 2 or 3, next to ${name}.`, field);
    const number = Number(text);
    if (number === 0) throw new MarksProblem("Number your choices from 1: write 1 next to your first choice.", field);
    if (numbered.has(number)) {
      throw new MarksProblem(
        `You wrote ${number} next to more than one candidate (${d.names[numbered.get(number)]} and ${name}). Give each number to one candidate only.`,
        field,
      );
    }
    numbered.set(number, id);
  }
  if (!numbered.size) {
    throw new MarksProblem(
      "Write 1 next to the candidate you like best. You can then number as many others as you like, 2, 3 and so on.",
      `pref-${d.ballot_order[0]}`,
    );
  }
  for (let expected = 1; expected <= numbered.size; expected += 1) {
    if (!numbered.has(expected)) {
      const later = Math.min(...[...numbered.keys()].filter((n) => n > expected));
      const field = `pref-${numbered.get(later)}`;
      if (expected === 1) throw new MarksProblem("Start with 1: write 1 next to your first choice.", field);
      throw new MarksProblem(
        `Number your choices 1, 2, 3 and so on without a gap: you wrote ${later} but no ${expected}.`,
        field,
      );
    }
  }
  return [...numbered.keys()].sort((a, b) => a - b).map((n) => numbered.get(n));
};

const chosenMarks = (form, d) => {
  const chosen = [...form.querySelectorAll('input[name="choice"]:checked')].map((i) => Number(i.value));
  const first = `choice-${d.ballot_order[0]}`;
  if (chosen.some((id) => !(id in d.names))) throw new MarksProblem("Your ballot named someone who is not a candidate. Mark it again.");
  if (!chosen.length) {
    throw new MarksProblem(`Choose ${d.seats === 1 ? "a candidate" : `up to ${d.seats} candidates`} before you continue.`, first);
  }
  if (chosen.length > d.seats) {
    const limit = d.seats === 1 ? "one candidate" : `${d.seats} candidates`;
    throw new MarksProblem(`You can choose at most ${limit}: you chose ${chosen.length}. Untick ${chosen.length - d.seats}.`, first);
  }
  // In id order, as the server stores a ballot that chooses.
  return chosen.sort((a, b) => a - b);
};

/** The ballot's candidate ids in order (a yes/no/abstain vote: the choice, as a word). */
const readMarks = (form, d) => {
  if (d.kind === "confirm") {
    const picked = form.querySelector('input[name="choice"]:checked');
    if (!picked || !d.candidate_ids.includes(picked.value)) throw new MarksProblem("Choose yes, no or abstain.", "choice-yes");
    return [picked.value];
  }
  return d.kind === "ranked" ? rankedMarks(form, d) : chosenMarks(form, d);
};

// -- a voter's encrypted ballot -----------------------------------------------------------------

const ballot = (api, root) => {
  const d = data();
  const form = document.querySelector("form[data-e2e-marks]");
  const problem = document.querySelector("[data-e2e-problem]");
  const status = root.querySelector("[data-e2e-status]");
  const choices = root.querySelector("[data-e2e-choices]");
  const code = root.querySelector("[data-e2e-credential]");
  const encryptButton = root.querySelector("[data-e2e-encrypt]");
  const made = root.querySelector("[data-e2e-made]");
  const trackerText = root.querySelector("[data-e2e-tracker]");
  const castButton = root.querySelector("[data-e2e-cast]");
  const auditButton = root.querySelector("[data-e2e-audit]");
  for (const note of document.querySelectorAll("[data-e2e-note]")) note.hidden = false;
  if (form.dataset.e2eContinue) form.querySelector("button").textContent = form.dataset.e2eContinue;
  // A card's code may come in the address's fragment (#card=…), which is never sent.
  const fragment = new URLSearchParams(window.location.hash.slice(1)).get("card");
  if (fragment) code.value = fragment;
  let ranking = null;
  let current = null;
  const showProblem = (error) => {
    const link = problem.querySelector("[data-e2e-problem-text]");
    link.textContent = error.message;
    link.href = `#${error.field || "ballot"}`;
    problem.hidden = false;
    problem.focus();
  };
  // With this script running, the marks are read here and the ballot is cast encrypted:
  // the form is never posted.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      const ids = readMarks(form, d);
      ranking = ids.map((id) => d.candidate_ids.indexOf(id));
      choices.replaceChildren(
        ...ids.map((id) => {
          const item = document.createElement("li");
          item.textContent = d.names[id];
          return item;
        }),
      );
      problem.hidden = true;
      form.hidden = true;
      root.hidden = false;
      made.hidden = true;
      status.hidden = true;
      current = null;
      root.querySelector("h2").focus();
    } catch (error) {
      if (!(error instanceof MarksProblem)) throw error;
      showProblem(error);
    }
  });
  root.querySelector("[data-e2e-change]").addEventListener("click", () => {
    root.hidden = true;
    form.hidden = false;
    current = null;
  });
  encryptButton.addEventListener("click", () => {
    try {
      const secret = api.credentialSecret(code.value);
      const credential = api.publicCredential(code.value);
      const encrypted = api.encryptRanking(d.key, d.candidates, ranking, d.label, credential);
      current = { secret, credential, ranking, ...encrypted };
      trackerText.textContent = encrypted.tracker;
      made.hidden = false;
      status.hidden = true;
      castButton.focus();
    } catch (error) {
      say(status, error.message, true);
    }
  });
  castButton.addEventListener("click", async () => {
    if (!current) return;
    castButton.disabled = true;
    try {
      const signature = api.signBallot(current.secret, d.label, current.ballot);
      const answer = await post(d.cast_url, {
        cast: { credential: current.credential, ballot: current.ballot, signature },
      });
      window.location.assign(answer.receipt);
    } catch (error) {
      say(status, error.message, true);
      castButton.disabled = false;
    }
  });
  auditButton.addEventListener("click", async () => {
    if (!current) return;
    const audited = {
      credential: current.credential,
      ballot: current.ballot,
      ranking: current.ranking.map((i) => d.candidate_ids[i]),
      randomness: current.randomness,
    };
    current = null;
    made.hidden = true;
    try {
      const answer = await post(d.audit_url, { audited });
      say(status, answer.message);
    } catch (error) {
      say(status, error.message, true);
    }
  });
};

export const wire = (api) => {
  const root = document.querySelector("[data-e2e]");
  if (!root) return;
  const part = { ceremony, credentials, cards, ballot }[root.dataset.e2e];
  if (part) part(api, root);
};
