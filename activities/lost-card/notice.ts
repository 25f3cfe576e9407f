import type { LostCardNoticeTemplate } from './types.ts';

const sign = '【校园一卡通】';

/** The texts a parent gets about a lost card, in Chinese. */
export function renderLostCardNotice(template: LostCardNoticeTemplate, holderName: string): string {
  switch (template) {
    case 'card_frozen':
      return `${sign}${holderName}的一卡通已挂失冻结，校内终端将拒绝此卡消费。如非本人操作，请联系学校卡务中心。`;
    case 'card_unfrozen':
      return `${sign}${holderName}的一卡通已解挂，可正常使用。`;
  }
}
