import { OfficeRefusal } from '../keys/refusal.ts';
import type { Client, OfficeContext } from '../cards/office-command.ts';
import { requireSchool } from '../cards/organisation.ts';

/** A cardholder as the card office enters one: a student (学籍号), staff (工号) or temporary person. */
export interface CardholderInput {
  schoolId: string;
  personNo: string;
  name: string;
  gender: 'F' | 'M' | 'U';
  identityCode: string;
  departmentId?: string | null;
  campusId?: string | null;
  batchCode?: string | null;
  grade?: number | null;
  className?: string | null;
}

/** Checks every reference of a cardholder against the school; the message names the field. */
export async function checkReferences(
  client: Client,
  input: Partial<CardholderInput> & { schoolId: string },
) {
  let kind: string | undefined;
  if (input.identityCode !== undefined) {
    const { rows } = await client.query<{ kind: string }>(
      `select kind from identities where identity_code = $1`,
      [input.identityCode],
    );
    if (!rows[0])
      throw new OfficeRefusal('identity_not_found', `identityCode: no identity ${input.identityCode}`);
    kind = rows[0].kind;
  }
  if (input.departmentId) {
    const { rows } = await client.query<{ school_id: string }>(
      `select school_id from cardholder_departments where department_id = $1`,
      [input.departmentId],
    );
    if (rows[0]?.school_id !== input.schoolId)
      throw new OfficeRefusal(
        'department_not_found',
        `departmentId: no department ${input.departmentId} in ${input.schoolId}`,
      );
  }
  if (input.campusId) {
    const { rows } = await client.query<{ school_id: string }>(
      `select school_id from campuses where campus_id = $1`,
      [input.campusId],
    );
    if (rows[0]?.school_id !== input.schoolId)
      throw new OfficeRefusal(
        'campus_not_found',
        `campusId: no campus ${input.campusId} in ${input.schoolId}`,
      );
  }
  if (input.batchCode) {
    const { rows } = await client.query(
      `select 1 from cardholder_batches where school_id = $1 and batch_code = $2`,
      [input.schoolId, input.batchCode],
    );
    if (rows.length === 0)
      throw new OfficeRefusal(
        'batch_not_found',
        `batchCode: no batch ${input.batchCode} in ${input.schoolId}`,
      );
  }
  return { kind };
}

export async function createCardholderStep(ctx: OfficeContext, input: CardholderInput) {
  await requireSchool(ctx.client, input.schoolId);
  const { kind } = await checkReferences(ctx.client, input);
  const { rows } = await ctx.client.query<{ cardholder_id: bigint }>(
    `insert into cardholders (school_id, kind, person_no, name, gender, identity_code, department_id, campus_id, batch_code, grade, class_name)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (school_id, person_no) do nothing returning cardholder_id`,
    [
      input.schoolId,
      kind,
      input.personNo,
      input.name,
      input.gender,
      input.identityCode,
      input.departmentId ?? null,
      input.campusId ?? null,
      input.batchCode ?? null,
      input.grade ?? null,
      input.className ?? null,
    ],
  );
  if (!rows[0])
    throw new OfficeRefusal(
      'cardholder_already_exists',
      `personNo: ${input.personNo} already exists in ${input.schoolId}`,
    );
  await ctx.audit({
    action: 'create_cardholder',
    schoolId: input.schoolId,
    cardholderId: rows[0].cardholder_id,
  });
  return { cardholderId: rows[0].cardholder_id, ...input, kind };
}

const updatable = {
  name: 'name',
  gender: 'gender',
  identityCode: 'identity_code',
  departmentId: 'department_id',
  campusId: 'campus_id',
  batchCode: 'batch_code',
  grade: 'grade',
  className: 'class_name',
} as const;

/** 基本信息修改: only the fields given change; the audit row records which. */
export async function updateCardholderStep(
  ctx: OfficeContext,
  input: { cardholderId: bigint; changes: Partial<Omit<CardholderInput, 'schoolId' | 'personNo'>> },
) {
  const { rows } = await ctx.client.query<{ school_id: string }>(
    `select school_id from cardholders where cardholder_id = $1 for update`,
    [input.cardholderId.toString()],
  );
  if (!rows[0]) throw new OfficeRefusal('cardholder_not_found', `no cardholder ${input.cardholderId}`);
  const schoolId = rows[0].school_id;
  const { kind } = await checkReferences(ctx.client, { ...input.changes, schoolId });
  const sets: string[] = [];
  const values: unknown[] = [input.cardholderId.toString()];
  for (const [field, column] of Object.entries(updatable)) {
    const value = input.changes[field as keyof typeof updatable];
    if (value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  if (kind) {
    values.push(kind);
    sets.push(`kind = $${values.length}`);
  }
  if (sets.length === 0)
    throw new OfficeRefusal('invalid_input', 'changes: name at least one field to change');
  await ctx.client.query(
    `update cardholders set ${sets.join(', ')}, updated_at = now() where cardholder_id = $1`,
    values,
  );
  await ctx.audit({
    action: 'update_cardholder',
    schoolId,
    cardholderId: input.cardholderId,
    detail: { fields: Object.keys(input.changes) },
  });
  return { cardholderId: input.cardholderId, changed: Object.keys(input.changes) };
}

export function photoMimeType(content: Buffer): 'image/jpeg' | 'image/png' | undefined {
  if (content.length > 3 && content[0] === 0xff && content[1] === 0xd8 && content[2] === 0xff)
    return 'image/jpeg';
  if (content.length > 8 && content.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')))
    return 'image/png';
  return undefined;
}

export const photoBytesMax = 2 * 1024 * 1024;

export async function setPhotoStep(ctx: OfficeContext, input: { cardholderId: bigint; content: Buffer }) {
  const mime = photoMimeType(input.content);
  if (!mime) throw new OfficeRefusal('invalid_input', 'photo: not a JPEG or PNG image');
  if (input.content.length > photoBytesMax)
    throw new OfficeRefusal(
      'invalid_input',
      `photo: ${input.content.length} bytes, more than ${photoBytesMax}`,
    );
  const { rows } = await ctx.client.query<{ school_id: string }>(
    `select school_id from cardholders where cardholder_id = $1`,
    [input.cardholderId.toString()],
  );
  if (!rows[0]) throw new OfficeRefusal('cardholder_not_found', `no cardholder ${input.cardholderId}`);
  await ctx.client.query(
    `insert into cardholder_photos (cardholder_id, mime_type, content) values ($1, $2, $3)
     on conflict (cardholder_id) do update set mime_type = excluded.mime_type, content = excluded.content, updated_at = now()`,
    [input.cardholderId.toString(), mime, input.content],
  );
  await ctx.audit({
    action: 'set_photo',
    schoolId: rows[0].school_id,
    cardholderId: input.cardholderId,
    detail: { mime, bytes: input.content.length },
  });
  return { cardholderId: input.cardholderId, mimeType: mime, bytes: input.content.length };
}

export const fingerprintBytesMax = 4096;

/** 指纹信息: the template a fingerprint reader made (opaque bytes, written to the card at issue later). */
export async function setFingerprintStep(
  ctx: OfficeContext,
  input: { cardholderId: bigint; template: Buffer },
) {
  if (input.template.length === 0 || input.template.length > fingerprintBytesMax)
    throw new OfficeRefusal(
      'invalid_input',
      `fingerprintTemplate: ${input.template.length} bytes; a template has 1 to ${fingerprintBytesMax}`,
    );
  const { rows } = await ctx.client.query<{ school_id: string }>(
    `update cardholders set fingerprint_template = $2, updated_at = now() where cardholder_id = $1 returning school_id`,
    [input.cardholderId.toString(), input.template],
  );
  if (!rows[0]) throw new OfficeRefusal('cardholder_not_found', `no cardholder ${input.cardholderId}`);
  await ctx.audit({
    action: 'set_fingerprint',
    schoolId: rows[0].school_id,
    cardholderId: input.cardholderId,
    detail: { bytes: input.template.length },
  });
  return { cardholderId: input.cardholderId, fingerprintBytes: input.template.length };
}

/** The card data of 卡信息结构 for one card: holder, card, status, never the PIN hash. */
export async function cardInfo(client: Client, cardNo: string) {
  const { rows } = await client.query(
    `select c.card_no as "cardNo", h.school_id as "schoolId", h.name, h.gender, h.person_no as "personNo",
            h.identity_code as "identityCode", h.batch_code as "batchCode", c.reissue_count as "reissueCount",
            (c.pin_hash is not null) as "hasPin", c.card_flag as "cardFlag", c.purpose, c.status, c.card_kind as "cardKind",
            c.category_id as "categoryId", c.validity_mode as "validityMode", c.expires_on::text as "expiresOn",
            (select true from cardholder_photos p where p.cardholder_id = h.cardholder_id) is not null as "hasPhoto",
            (h.fingerprint_template is not null) as "hasFingerprint", h.cardholder_id as "cardholderId",
            c.chip_serial as "chipSerial", c.replaces_card_no as "replacesCardNo"
       from cards c join cardholders h using (cardholder_id) where c.card_no = $1`,
    [cardNo],
  );
  if (!rows[0]) throw new OfficeRefusal('card_not_found', `no card ${cardNo}`);
  return rows[0] as Record<string, unknown>;
}
