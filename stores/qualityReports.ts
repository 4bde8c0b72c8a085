import type { Db } from 'mongodb';
import type { QualityReportDocument } from '../contracts/health.js';

export const QUALITY_REPORTS_COLLECTION = 'quality_reports';

export const qualityReportsCollection = (db: Db) => db.collection<QualityReportDocument>(QUALITY_REPORTS_COLLECTION);
