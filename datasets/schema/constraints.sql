-- After the load: primary keys, unique keys, foreign keys, and one index per foreign key.
-- Only the indexes a well-designed schema has: chapter 04 teaches the others (partial,
-- expression, covering, BRIN, GIN on jsonb/arrays), so they are deliberately absent.

ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username);
CREATE UNIQUE INDEX users_email_live_key ON users (lower(email)) WHERE deleted_at IS NULL;

ALTER TABLE roles ADD CONSTRAINT roles_pkey PRIMARY KEY (id);
ALTER TABLE roles ADD CONSTRAINT roles_name_key UNIQUE (name);

ALTER TABLE user_roles ADD CONSTRAINT user_roles_pkey PRIMARY KEY (user_id, role_id);
CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);
CREATE INDEX user_roles_granted_by_idx ON user_roles (granted_by);

ALTER TABLE categories ADD CONSTRAINT categories_pkey PRIMARY KEY (id);
ALTER TABLE categories ADD CONSTRAINT categories_slug_key UNIQUE (slug);
ALTER TABLE categories ADD CONSTRAINT categories_parent_id_name_key UNIQUE NULLS NOT DISTINCT (parent_id, name);

ALTER TABLE products ADD CONSTRAINT products_pkey PRIMARY KEY (id);
ALTER TABLE products ADD CONSTRAINT products_sku_key UNIQUE (sku);
CREATE INDEX products_category_id_idx ON products (category_id);
CREATE INDEX products_search_vector_idx ON products USING gin (search_vector);

ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
ALTER TABLE orders ADD CONSTRAINT orders_order_number_key UNIQUE (order_number);
CREATE INDEX orders_user_id_idx ON orders (user_id);

ALTER TABLE order_items ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

ALTER TABLE rooms ADD CONSTRAINT rooms_pkey PRIMARY KEY (id);
ALTER TABLE rooms ADD CONSTRAINT rooms_name_key UNIQUE (name);

ALTER TABLE bookings ADD CONSTRAINT bookings_pkey PRIMARY KEY (id);
CREATE INDEX bookings_room_id_idx ON bookings (room_id);
CREATE INDEX bookings_user_id_idx ON bookings (user_id);

ALTER TABLE documents ADD CONSTRAINT documents_pkey PRIMARY KEY (id);
CREATE INDEX documents_owner_id_idx ON documents (owner_id);

ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);

ALTER TABLE user_stats ADD CONSTRAINT user_stats_pkey PRIMARY KEY (user_id);

-- Foreign keys last: each is validated by one join over the loaded rows.
ALTER TABLE user_roles ADD CONSTRAINT user_roles_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_id_fkey
    FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_granted_by_fkey
    FOREIGN KEY (granted_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE categories ADD CONSTRAINT categories_parent_id_fkey
    FOREIGN KEY (parent_id) REFERENCES categories (id) ON DELETE RESTRICT;
ALTER TABLE products ADD CONSTRAINT products_category_id_fkey
    FOREIGN KEY (category_id) REFERENCES categories (id) ON DELETE RESTRICT;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT;
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;
ALTER TABLE order_items ADD CONSTRAINT order_items_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE RESTRICT;
ALTER TABLE bookings ADD CONSTRAINT bookings_room_id_fkey
    FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE RESTRICT;
ALTER TABLE bookings ADD CONSTRAINT bookings_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE documents ADD CONSTRAINT documents_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_stats ADD CONSTRAINT user_stats_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
