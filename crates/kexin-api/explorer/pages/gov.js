// Governance: the consortium's members and parameters, and every proposal with its votes.

import { api } from '../api.js';
import { badge, facts, h, hashLink, num, replace, section, table, time } from '../dom.js';

function actionText(a) {
  switch (a.type) {
    case 'add_org': return `add organisation ${a.org?.name ?? ''}`;
    case 'remove_org': return `remove organisation ${a.name}`;
    case 'revoke_cert': return `revoke a certificate (${a.reason})`;
    case 'set_param': return `set ${a.name} = ${a.value}`;
    case 'add_validator': return `add validator ${a.validator?.name ?? ''} (${a.validator?.org ?? ''})`;
    case 'remove_validator': return 'remove a validator';
    default: return String(a.type);
  }
}

const STATES = { open: 'warn', passed: 'ok', rejected: 'bad', expired: 'plain' };

export async function render({ main, signal }) {
  const [props, cons] = await Promise.all([api.proposals(), api.consortium()]);
  if (signal.aborted) return;
  replace(
    main,
    h('h1', {}, 'Governance'),
    section(
      'Consortium',
      facts([
        ['Members', cons.members.join(', ')],
        ['Votes a proposal needs', num(cons.votes_needed)],
      ]),
      h('h3', {}, 'Parameters'),
      table(['Name', 'Value', 'Meaning'], cons.params.map((p) => [h('code', {}, p.name), num(p.value), p.doc]), { hide: [2] }),
    ),
    section(
      'Proposals',
      table(
        ['Proposal', 'Action', 'By', 'State', 'Votes', 'Expires'],
        props.proposals.map((p) => {
          const yes = p.proposal.votes.filter((v) => v.approve).length;
          return [
            hashLink(`tx/${p.id}`, p.id, 8),
            actionText(p.proposal.action),
            p.proposal.proposer_org,
            badge(p.state, STATES[p.state] || 'plain'),
            `${yes} yes · ${p.proposal.votes.length - yes} no`,
            time(p.proposal.expires_ms),
          ];
        }),
        { empty: 'No proposals yet.', hide: [5] },
      ),
    ),
  );
}
