// Secrets never reach the journal, a log or a screen: configured strings, and
// anything that looks like a password or a key in a command line, SQL, an
// environment assignment or a credentials file.

export const REDACTED = '[redacted]';

/** A value on a command line: quoted, or one word. */
const VALUE = `(?:'[^']*'|"[^"]*"|[^\\s'"]+)`;
/** An SQL string literal, with its escapes. */
const SQL_STRING = `(?:'(?:[^'\\\\]|\\\\.|'')*'|"(?:[^"\\\\]|\\\\.|"")*")`;

// MySQL-family clients take `-pSECRET` glued to the flag. Other tools use -p
// for other things (`nodetool repair -pr`), so the rule applies only after
// one of these names earlier on the line.
const MYSQL_CLIENT = /\b(?:mysql|mysqldump|mysqladmin|mysqlbinlog|mysqlpump|mysqlsh|mariadb|mariadb-dump|mariadb-admin|mariadb-backup|mariabackup|xtrabackup|innobackupex|pt-[a-z-]+)\b/i;
const GLUED_P = /(^|\s)-p(?:'[^']*'|"[^"]*"|[^\s'"]+)/g;
// cqlsh takes its password as `-p SECRET`, a word of its own (nodetool's -p is the JMX port).
const CQLSH = /\bcqlsh\b/;
const CQLSH_P = new RegExp(`(^|\\s)(-p\\s+)${VALUE}`, 'g');

/** AWS access key ids: a secret key (40 characters of base64) beside one on a line is its pair. */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/;
const SECRET_KEY_SHAPE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;

const PATTERNS: Array<[RegExp, string]> = [
  // --password=secret, --password secret (never a bare --password, which prompts)
  [/(--password(?:=|\s+))(?:'[^']*'|"[^"]*"|[^\s'"-][^\s'"]*)/gi, `$1${REDACTED}`],
  // nodetool, sstableloader, cassandra-stress: -pw secret, -pw=secret (-pwf names a file, not a secret)
  [new RegExp(`(^|[\\s'"])(-pw(?:=|\\s+))${VALUE}`, 'g'), `$1$2${REDACTED}`],
  // MYSQL_PASSWORD=x cmd, export CASSANDRA_SECRET='x', GITHUB_TOKEN="x", MYSQL_PWD=x: the value goes
  // (before the SQL rules, which then put back quotes round MASTER_PASSWORD=[redacted])
  [
    new RegExp(`(^|[\\s;&|(])((?:export\\s+|declare\\s+-x\\s+)?[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|SECRET_KEY|_PWD)=)${VALUE}`, 'gi'),
    `$1$2${REDACTED}`,
  ],
  // IDENTIFIED BY 'x' / IDENTIFIED WITH plugin BY 'x'
  [new RegExp(`(IDENTIFIED(?:\\s+WITH\\s+\\S+)?\\s+BY\\s+)${SQL_STRING}`, 'gi'), `$1'${REDACTED}'`],
  // MASTER_PASSWORD='x', SOURCE_PASSWORD = "x"
  [new RegExp(`((?:MASTER|SOURCE)_PASSWORD\\s*=\\s*)(?:${SQL_STRING}|[^\\s,;]+)`, 'gi'), `$1'${REDACTED}'`],
  // PASSWORD 'x' (CQL's CREATE USER), PASSWORD = 'x' (SET PASSWORD, CQL roles), PASSWORD('x'),
  // IDENTIFIED BY PASSWORD 'hash'; not "password": "x" (a JSON key, below)
  [new RegExp(`(\\bPASSWORD(?:\\s*=\\s*|\\s*\\(\\s*|\\s+))${SQL_STRING}`, 'gi'), `$1'${REDACTED}'`],
  // aws_secret_access_key = x (credentials file), AWS_SECRET_ACCESS_KEY=x (env), `aws configure set aws_secret_access_key x`
  [/(aws_secret_access_key["']?(?:\s*[=:]\s*|\s+)["']?)[^\s"',;]+/gi, `$1${REDACTED}`],
  // AWS_SESSION_TOKEN too: it is a bearer credential
  [/(aws_session_token["']?(?:\s*[=:]\s*|\s+)["']?)[^\s"',;]+/gi, `$1${REDACTED}`],
  // "SecretAccessKey": "<40 chars>" (STS / IAM JSON answers)
  [/(SecretAccessKey["']?\s*[=:]\s*["']?)[A-Za-z0-9/+=]{40}/g, `$1${REDACTED}`],
  // "password": "x", "db_secret": "x" in JSON text
  [/("[A-Za-z0-9_-]*(?:password|passwd|secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${REDACTED}"`],
  // PEM private keys, whole blocks
  [
    /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
    `-----BEGIN $1PRIVATE KEY----- ${REDACTED} -----END $1PRIVATE KEY-----`,
  ],
];

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const PEM_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----/;

/** Keys whose values are secrets whatever they look like (in params and facts). */
const SECRET_KEY = /pass(word)?|secret|token|private[-_]?key|credential/i;

export interface Redactor {
  /** Redacts one whole text (a command, an error, a complete output chunk). */
  text(value: string): string;
  /** Redacts every string in a JSON-like value; values under secret-looking keys go entirely. */
  deep<T>(value: T): T;
  /** A line-by-line redactor that remembers an open PEM block across chunks. */
  stream(): (line: string) => string;
}

/** Shorter literals would match ordinary text everywhere. */
export const MIN_SECRET = 3;

// Secrets learned while running (a replication password read from its file or
// the environment when a runbook needs it): every redactor, made before or
// after, hides them for the rest of the process.
const learned = new Set<string>();

/** Adds a secret for every redactor of this process; one too short to tell from ordinary text is refused. */
export function registerSecret(secret: string): void {
  if (secret.length < MIN_SECRET) throw new Error(`a secret shorter than ${MIN_SECRET} characters cannot be redacted`);
  learned.add(secret);
}

export function createRedactor(secrets: readonly string[] = []): Redactor {
  const own = [...secrets];
  let known = -1;
  let literals: string[] = [];
  const current = (): string[] => {
    if (known !== learned.size) {
      known = learned.size;
      // Longest first, so a secret that contains another is replaced whole.
      literals = [...new Set([...own, ...learned].filter((s) => s.length >= MIN_SECRET))].sort((a, b) => b.length - a.length);
    }
    return literals;
  };

  const text = (value: string): string => {
    let out = value;
    for (const secret of current()) out = out.split(secret).join(REDACTED);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    out = out.split('\n').map(redactByLine).join('\n');
    // An opening PEM line without its end in the same text: cut from there on.
    const begin = PEM_BEGIN.exec(out);
    if (begin && !PEM_END.test(out.slice(begin.index))) out = `${out.slice(0, begin.index)}${begin[0]} ${REDACTED}`;
    return out;
  };

  const deep = <T>(value: T): T => deepRedact(value, text) as T;

  const stream = () => {
    let inPem = false;
    return (line: string): string => {
      if (inPem) {
        if (PEM_END.test(line)) inPem = false;
        return PEM_END.test(line) ? line.replace(/^.*?(-----END)/, `${REDACTED} $1`) : REDACTED;
      }
      if (PEM_BEGIN.test(line) && !PEM_END.test(line)) {
        inPem = true;
        const begin = PEM_BEGIN.exec(line)!;
        return text(line.slice(0, begin.index)) + begin[0];
      }
      return text(line);
    };
  };

  return { text, deep, stream };
}

/** Rules that hold within one line: a client named earlier on it, a key id beside a secret key. */
function redactByLine(line: string): string {
  let out = line;
  if (MYSQL_CLIENT.test(out)) out = redactGluedP(out);
  if (CQLSH.test(out)) out = out.replace(CQLSH_P, `$1$2${REDACTED}`);
  if (ACCESS_KEY_ID.test(out)) out = out.replace(SECRET_KEY_SHAPE, REDACTED);
  return out;
}

function redactGluedP(line: string): string {
  const client = MYSQL_CLIENT.exec(line);
  if (!client) return line;
  const head = line.slice(0, client.index);
  const tail = line.slice(client.index).replace(GLUED_P, `$1-p${REDACTED}`);
  return head + tail;
}

function deepRedact(value: unknown, text: (s: string) => string, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && SECRET_KEY.test(key) ? REDACTED : text(value);
  if (Array.isArray(value)) return value.map((v) => deepRedact(v, text));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepRedact(v, text, k);
    return out;
  }
  return value;
}
