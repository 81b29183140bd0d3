import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError, ErrorCode, parseInput, type ControlDb, type Db } from '@confidant/shared';
import { requirePartnerAccess } from '../auth/authenticate.ts';
import type { PartnerStore } from '../auth/partner-store.ts';
import { EXPORT_FORMATS } from '../privacy/release-store.ts';
import { partnerRelease, type ReleaseDeps } from '../privacy/partner-release.ts';
import { isMonth } from '../report/month.ts';
import { idParam, openApi } from './route-schemas.ts';

export const exportQuery = z
  .object({
    month: z.string().refine(isMonth, 'month must be written YYYY-MM'),
    format: z.enum(EXPORT_FORMATS).default('csv'),
  })
  .strict();

export type PartnerRouteDeps = {
  db: Db;
  control: ControlDb;
  partners: PartnerStore;
  release: Omit<ReleaseDeps, 'db' | 'control'>;
};

/** Cross-practice exports: the partner's own key, and admins. */
export const partnerRoutes: FastifyPluginAsync<PartnerRouteDeps> = async (app, deps) => {
  app.get(
    '/v1/partners/:id/exports',
    {
      schema: {
        tags: ['partner'],
        security: [{ bearerAuth: [] }],
        summary:
          'Monthly cross-practice export (visitor-days by country, differentially private); made once per month for every partner, then served unchanged',
        params: openApi(idParam),
        querystring: openApi(exportQuery),
      },
    },
    async (req, reply) => {
      const { id } = parseInput(idParam, req.params, 'path');
      requirePartnerAccess(req.principal!, id);
      const q = parseInput(exportQuery, req.query, 'query');
      if (!(await deps.partners.get(id))) throw new ApiError(404, ErrorCode.notFound, `no partner ${id}`);
      const release = await partnerRelease(
        { db: deps.db, control: deps.control, ...deps.release },
        id,
        q.month,
        q.format,
      );
      return reply
        .type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('x-confidant-release', String(release.manifest.release_id))
        .send(release.body);
    },
  );
};
