# The trial service image; configure the database with TRIAL_DATABASE_URL (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY api ./api
COPY infra ./infra
RUN pip install --no-cache-dir .
ENV TRIAL_DATA_DIR=/var/lib/trial
EXPOSE 8000
CMD ["trial", "serve", "--host", "0.0.0.0", "--port", "8000"]
