/**
 * The texts parents receive, in Chinese. Amounts arrive in fen and are shown in yuan with two decimals,
 * computed with integers (never floating point).
 */
export function yuan(amountFen: number): string {
  if (!Number.isSafeInteger(amountFen)) throw new RangeError(`not an integer fen amount: ${amountFen}`);
  const sign = amountFen < 0 ? '-' : '';
  const abs = Math.abs(amountFen);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export type SmsTemplate =
  | {
      template: 'top_up_request';
      holderName: string;
      amountFen: number;
      code: string;
      hours: number;
      last4?: string;
    }
  | { template: 'top_up_help'; code?: undefined }
  | { template: 'top_up_confirmed'; holderName: string; amountFen: number; balanceFenAfter: number }
  | { template: 'top_up_declined'; holderName: string }
  | { template: 'top_up_expired'; holderName: string }
  | { template: 'top_up_failed'; holderName: string; reason: string };

const sign = '【校园一卡通】';

export function renderSms(message: SmsTemplate): string {
  switch (message.template) {
    case 'top_up_request':
      return (
        `${sign}${message.holderName}的一卡通需要充值${yuan(message.amountFen)}元，` +
        `将从您绑定的银行卡${message.last4 ? `(尾号${message.last4})` : ''}扣款。` +
        `同意请回复“Y ${message.code}”，拒绝请回复“N”。${message.hours}小时内未回复将自动取消。`
      );
    case 'top_up_help':
      return `${sign}未能识别您的回复。同意充值请回复“Y 验证码”（短信中的6位数字），拒绝请回复“N”。`;
    case 'top_up_confirmed':
      return (
        `${sign}已为${message.holderName}的一卡通充值${yuan(message.amountFen)}元，` +
        `当前余额${yuan(message.balanceFenAfter)}元。`
      );
    case 'top_up_declined':
      return `${sign}您已拒绝本次为${message.holderName}充值，未扣款。`;
    case 'top_up_expired':
      return `${sign}为${message.holderName}充值的请求已超时取消，未扣款。`;
    case 'top_up_failed':
      return `${sign}为${message.holderName}充值未成功（${message.reason}），如已扣款将原路退回。`;
  }
}
