import { fetchUtils, type DataProvider, type Identifier } from 'react-admin';

/**
 * The console's one data provider, speaking the API's simple REST dialect under `${apiUrl}/<resource>`.
 *
 *   getList          GET    /api/<resource>?_start=0&_end=25&_sort=id&_order=ASC&<filter field>=<value>
 *                           -> array body, total in the X-Total-Count header
 *   getOne           GET    /api/<resource>/<id>
 *   getMany          GET    /api/<resource>?id=1&id=2&id=3
 *   getManyReference GET    /api/<resource>?<target>=<id>&_start&_end&_sort&_order  (X-Total-Count)
 *   create           POST   /api/<resource>            body: the new record, answer: the record with its id
 *   update           PUT    /api/<resource>/<id>       body: the changed record, answer: the record
 *   updateMany       PUT    /api/<resource>/<id>       once per id
 *   delete           DELETE /api/<resource>/<id>       answer: the deleted record
 *   deleteMany       DELETE /api/<resource>/<id>       once per id
 *
 * Errors: fetchUtils.fetchJson rejects with an HttpError carrying the status and the JSON body, so the
 * API's stable error code (e.g. `card_is_frozen`) reaches the notification.
 */
export function createDataProvider(
  apiUrl = '/api',
  httpClient: typeof fetchUtils.fetchJson = fetchUtils.fetchJson,
): DataProvider {
  const url = (resource: string, id?: Identifier, query?: URLSearchParams) =>
    `${apiUrl}/${encodeURIComponent(resource)}` +
    (id === undefined ? '' : `/${encodeURIComponent(String(id))}`) +
    (query && query.size > 0 ? `?${query.toString()}` : '');

  const listQuery = (
    pagination: { page: number; perPage: number } | undefined,
    sort: { field: string; order: string } | undefined,
    filter: Record<string, unknown>,
  ) => {
    const query = filterQuery(filter);
    if (pagination) {
      query.set('_start', String((pagination.page - 1) * pagination.perPage));
      query.set('_end', String(pagination.page * pagination.perPage));
    }
    if (sort) {
      query.set('_sort', sort.field);
      query.set('_order', sort.order);
    }
    return query;
  };

  const fetchList = async (target: string) => {
    const { headers, json } = await httpClient(target);
    const total = headers.get('x-total-count');
    if (total === null) {
      throw new Error(`${target} answered without an X-Total-Count header`);
    }
    // json is `any`: each caller's RecordType is whatever the API's resource returns.
    return { data: json, total: Number.parseInt(total, 10) };
  };

  return {
    getList: (resource, { pagination, sort, filter }) =>
      fetchList(url(resource, undefined, listQuery(pagination, sort, filter ?? {}))),

    getOne: async (resource, { id }) => {
      const { json } = await httpClient(url(resource, id));
      return { data: json };
    },

    getMany: async (resource, { ids }) => {
      const query = new URLSearchParams();
      for (const id of ids) query.append('id', String(id));
      const { json } = await httpClient(url(resource, undefined, query));
      return { data: json };
    },

    getManyReference: (resource, { target, id, pagination, sort, filter }) =>
      fetchList(url(resource, undefined, listQuery(pagination, sort, { ...filter, [target]: id }))),

    create: async (resource, { data }) => {
      const { json } = await httpClient(url(resource), { method: 'POST', body: JSON.stringify(data) });
      return { data: json };
    },

    update: async (resource, { id, data }) => {
      const { json } = await httpClient(url(resource, id), { method: 'PUT', body: JSON.stringify(data) });
      return { data: json };
    },

    updateMany: async (resource, { ids, data }) => {
      for (const id of ids) {
        await httpClient(url(resource, id), { method: 'PUT', body: JSON.stringify(data) });
      }
      return { data: ids };
    },

    delete: async (resource, { id }) => {
      const { json } = await httpClient(url(resource, id), { method: 'DELETE' });
      return { data: json };
    },

    deleteMany: async (resource, { ids }) => {
      for (const id of ids) {
        await httpClient(url(resource, id), { method: 'DELETE' });
      }
      return { data: ids };
    },
  };
}

function filterQuery(filter: Record<string, unknown>): URLSearchParams {
  const query = new URLSearchParams();
  for (const [field, value] of Object.entries(filter)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      query.append(field, String(item));
    }
  }
  return query;
}
