// An organisation: its CA certificates, the certificates it issued (role, status, expiry) and
// its validators.

import { api } from '../api.js';
import { badge, daysUntil, facts, h, hashLink, link, mono, notice, num, replace, section, table, time } from '../dom.js';
import { certInfo } from '../der.js';

/** A certificate's status now: revoked, expired, expiring (within 30 days) or valid. */
export function certStatus(c, now = Date.now()) {
  if (c.revoked) return badge(`revoked at block ${num(c.revoked.height)} (${c.revoked.reason})`, 'bad');
  if (c.not_after_ms <= now) return badge('expired', 'bad');
  if (c.not_before_ms > now) return badge('not yet valid', 'warn');
  if (daysUntil(c.not_after_ms, now) < 30) return badge('expiring soon', 'warn');
  return badge('valid', 'ok');
}

/** "2027-11-22 20:26:41 UTC (364 days)" */
export function expiry(ms) {
  const d = daysUntil(ms);
  return `${time(ms)} (${d >= 0 ? `${num(d)} days left` : `expired ${num(-d)} days ago`})`;
}

export async function render({ main, signal }, name) {
  const [orgs, certs, vals] = await Promise.all([api.orgs(), api.certs(name).catch(() => ({ certs: [] })), api.validators()]);
  if (signal.aborted) return;
  const org = orgs.orgs.find((o) => o.name === name);
  if (!org) {
    replace(main, h('h1', {}, 'Organisation not found'), notice(`No organisation named “${name}” is a member of this chain.`, 'error'), h('p', {}, link('', 'Back to the dashboard')));
    return;
  }
  const validators = vals.validators.filter((v) => v.org === name);
  replace(
    main,
    h('h1', {}, `Organisation ${org.name}`),
    section(
      'Overview',
      facts([
        ['Name', org.name],
        ['CA certificates', num(org.ca_certs.length)],
        ['Registered certificates', num(certs.certs.length)],
        ['Validators', org.validators.length ? org.validators.join(', ') : 'none'],
        ['CA set changed', org.updated_at !== undefined ? link(`block/${org.updated_at}`, `block ${num(org.updated_at)}`) : 'never (as in the genesis)'],
        ['Receivables', link(`receivables/${encodeURIComponent(org.name)}`, 'open receivables held and owed')],
      ]),
    ),
    section(
      'Certificate authorities',
      table(
        ['Subject', 'Valid until', 'Status', 'Id'],
        org.ca_certs.map((ca) => {
          const info = certInfo(ca.cert);
          return [
            info ? info.subject.CN || '—' : 'unparsed',
            info ? expiry(info.notAfterMs) : '—',
            info ? certStatus({ not_before_ms: info.notBeforeMs, not_after_ms: info.notAfterMs }) : '—',
            mono(ca.id),
          ];
        }),
        { hide: [3] },
      ),
    ),
    section(
      'Certificates',
      table(
        ['Holder', 'Role', 'Status', 'Valid until', 'Registered'],
        certs.certs.map((c) => [
          [c.name, h('br'), h('span', { class: 'muted mono', title: c.id }, `serial ${c.serial}`)],
          c.role,
          certStatus(c),
          expiry(c.not_after_ms),
          link(`block/${c.registered_at}`, `block ${num(c.registered_at)}`),
        ]),
        { empty: 'No certificate of this organisation is registered yet (a certificate is registered by its first transaction).', hide: [4] },
      ),
    ),
    section(
      'Validators',
      table(
        ['Validator', 'Status', 'Public key'],
        validators.map((v) => [link(`validator/${v.public_key}`, v.name), v.online ? badge('online', 'ok') : badge('offline', 'bad'), hashLink(`validator/${v.public_key}`, v.public_key, 12)]),
        { empty: 'This organisation runs no validator in the current epoch.' },
      ),
    ),
  );
}
